import Foundation
import GPTFormats

/// Any bytes as a safetensors file: an error or a file whose every tensor reads, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let file = try? SafetensorsFile(data: data, url: URL(fileURLWithPath: "fuzz.safetensors")) else { return 0 }
    for name in file.tensors.keys where file.tensors[name]!.elementCount <= 1 << 20 {
        _ = try? file.floats(name)
    }
    return 0
}
