import Foundation
import GPTFormats

/// Any bytes as a token file (ours, llm.c's or nanoGPT's), with and without a vocabulary to check against.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let url = URL(fileURLWithPath: "fuzz.tokens")
    for vocabulary in [nil, 50_257, 2] {
        guard let file = try? TokenFile(data: data, url: url, vocabularySize: vocabulary) else { continue }
        _ = file.tokens.maximum()
        if file.tokens.count > 0 { _ = file.tokens.slice(0..<min(8, file.tokens.count)).array }
    }
    return 0
}
