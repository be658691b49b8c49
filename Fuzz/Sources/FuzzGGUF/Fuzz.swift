import Foundation
import GPTFormats

/// Any bytes as a GGUF file: an error, or a file whose metadata and float tensors read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let file = try? GGUFFile(data: data, url: URL(fileURLWithPath: "fuzz.gguf")) else { return 0 }
    _ = file.metadata.values.map(\.description)
    for tensor in file.tensors where tensor.elementCount <= 1 << 20 {
        _ = try? file.floats(tensor.name)
        _ = file.bytes(of: tensor)
    }
    return 0
}
