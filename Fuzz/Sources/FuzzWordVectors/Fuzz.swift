import Foundation
import GPTEmbeddings

/// Any bytes as word2vec text and binary vectors; vectors that load must answer a similarity query.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    for format in WordVectors.FileFormat.allCases {
        guard let vectors = try? WordVectors.read(data: data, source: "fuzz", format: format), let word = vectors.words.first
        else { continue }
        _ = try? vectors.similar(to: word, top: 3)
    }
    return 0
}
