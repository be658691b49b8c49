import Foundation
import GPTFormats
import GPTModel
import GPTTensor

/// Any bytes as a GGUF model file: an error, or a model (configuration and tokenizer from the
/// metadata, matrices mapped in their stored types) that decodes one token.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let file = try? GGUFFile(data: data, url: URL(fileURLWithPath: "fuzz.gguf")),
        let configuration = try? GGUFModel.configuration(of: file),
        ParameterLayout(configuration).count <= 1 << 22  // models a fuzzer could run, not ones that need gigabytes
    else { return 0 }
    for dense in [false, true] {
        guard let (model, tokenizer) = try? GGUFModel.load(file, dense: dense) else { continue }
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 1))
        let token = Int32(tokenizer.vocabularySize > 0 ? tokenizer.vocabularySize - 1 : 0)
        _ = try? session.forward(tokens: [token], count: 1, cache: KVCache(configuration: model.configuration))
        _ = tokenizer.decode([Int(token)])
    }
    return 0
}
