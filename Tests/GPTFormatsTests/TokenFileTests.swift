import Foundation
import GPTFormats
import GPTTestSupport
import Testing

@Suite struct TokenFileTests {
    let directory = temporaryDirectory("token-files")

    @Test func ourFormatRoundTripsWithHeader() throws {
        let url = directory.appendingPathComponent("a.tokens")
        let ids = [0, 5, 65_535, 17]
        try TokenFile.write(ids, vocabularySize: 65_536, textHash: String(repeating: "ab", count: 32), tokenizerHash: String(repeating: "cd", count: 32), to: url)
        let file = try TokenFile(contentsOf: url)
        #expect(file.format == .swiftGPT && file.tokens.width == 2)
        #expect(file.tokens.array == ids.map(Int32.init))
        #expect(file.vocabularySize == 65_536)
        #expect(file.textHash == String(repeating: "ab", count: 32))
        let wide = directory.appendingPathComponent("b.tokens")
        try TokenFile.write([70_000, 1], vocabularySize: 100_000, textHash: "", tokenizerHash: "", to: wide)
        #expect(try TokenFile(contentsOf: wide).tokens.width == 4)
        #expect(try TokenFile(contentsOf: wide).tokens.array == [70_000, 1])
        // Truncation is detected.
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 1).write(to: url)
        #expect(throws: FileFormatError.self) { try TokenFile(contentsOf: url) }
    }

    @Test func readsNanoGPTAndLlmCFiles() throws {
        let nano = directory.appendingPathComponent("train.bin")
        try [UInt16](arrayLiteral: 3, 1, 4, 1, 5).map(\.littleEndian).withUnsafeBytes { try Data($0).write(to: nano) }
        let nanoFile = try TokenFile(contentsOf: nano, vocabularySize: 10)
        #expect(nanoFile.format == .nanoGPT && nanoFile.tokens.array == [3, 1, 4, 1, 5])
        #expect(throws: FileFormatError.self) { try TokenFile(contentsOf: nano, vocabularySize: 4) }

        var header = [Int32](repeating: 0, count: 256)
        header[0] = 20_240_520
        header[1] = 1
        header[2] = 3
        var bytes = header.map(\.littleEndian).withUnsafeBytes { Data($0) }
        bytes += [UInt16](arrayLiteral: 50_256, 7, 9).map(\.littleEndian).withUnsafeBytes { Data($0) }
        let llmc = directory.appendingPathComponent("llmc.bin")
        try bytes.write(to: llmc)
        let llmcFile = try TokenFile(contentsOf: llmc, vocabularySize: 50_257)
        #expect(llmcFile.format == .llmC && llmcFile.tokens.array == [50_256, 7, 9])
        try bytes.prefix(bytes.count - 2).write(to: llmc)
        #expect(throws: FileFormatError.self) { try TokenFile(contentsOf: llmc, vocabularySize: 50_257) }

        let odd = directory.appendingPathComponent("odd.bin")
        try Data([1, 2, 3]).write(to: odd)
        #expect(throws: FileFormatError.self) { try TokenFile(contentsOf: odd, vocabularySize: 10) }
    }

    @Test func cacheDirectoryFollowsXDG() {
        #expect(TokenCache.directory(environment: ["XDG_CACHE_HOME": "/x"]).path == "/x/swift-gpt/tokens")
        #expect(TokenCache.directory(environment: ["HOME": "/home/u"]).path == "/home/u/.cache/swift-gpt/tokens")
    }

    @Test func sha256MatchesKnownDigests() {
        #expect(Array("".utf8).withUnsafeBytes { SHA256.hex($0) } == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) } == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(million.withUnsafeBytes { SHA256.hex($0) } == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
