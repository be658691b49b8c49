import Foundation
import GPTModel
import GPTTraining

/// Any bytes as a model's config.json and as a training --config file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    if let configuration = try? GPTConfiguration(huggingFaceJSON: data, source: "config.json") {
        _ = try? configuration.huggingFaceJSON()
    }
    if let configuration = try? TrainingConfiguration.decode(data, over: TrainingConfiguration(), source: "fuzz.json") {
        _ = try? configuration.encoded()
    }
    return 0
}
