import Foundation
import GPTFormats
import GPTTestSupport
import GPTTokenizer
import Testing

/// GPT-2 encoding of whole books against tiktoken (hashes in Fixtures/gutenberg-gpt2.json),
/// and byte-exact round trips of every corpus file.
@Suite(.serialized) struct CorpusTests {
    struct Fixture: Decodable {
        struct Entry: Decodable {
            let name: String?
            let path: String?
            let bytes: Int
            let tokens: Int
            let sha256_ids_u32le: String
        }
        let gutenberg: [Entry]
        let gutenberg_concatenated: Entry
        let others: [Entry]
    }

    static let fixture: Fixture = {
        let url = projectRoot.appendingPathComponent("Tests/GPTTokenizerTests/Fixtures/gutenberg-gpt2.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static var gutenbergFiles: [URL] {
        let directory = sharedDataDirectory.appendingPathComponent("corpus/gutenberg")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted().map { directory.appendingPathComponent($0) }
    }

    func hash(_ ids: [Int]) -> String {
        ids.map { UInt32($0).littleEndian }.withUnsafeBytes { SHA256.hex($0) }
    }

    // The files' exact bytes (byte-order marks included), as tiktoken's reference read them.
    @Test(arguments: [1, 2])
    func wholeGutenbergConcatenationMatchesTiktoken(threads: Int) throws {
        let tokenizer = GPT2TokenizerTests.tokenizer
        let files = Self.gutenbergFiles
        #expect(files.count == Self.fixture.gutenberg.count)
        var text = ""
        for file in files { text += try TextFile.read(file.path, keepingByteOrderMark: true) }
        #expect(text.utf8.count == Self.fixture.gutenberg_concatenated.bytes)
        let ids = try tokenizer.encode(text, specialTokens: .ordinary, threads: threads)
        #expect(ids.count == Self.fixture.gutenberg_concatenated.tokens)
        #expect(hash(ids) == Self.fixture.gutenberg_concatenated.sha256_ids_u32le)
    }

    @Test func everyOtherCorpusFileMatchesTiktokenAndRoundTrips() throws {
        let tokenizer = GPT2TokenizerTests.tokenizer
        for entry in Self.fixture.others {
            let path = sharedDataDirectory.appendingPathComponent(entry.path ?? entry.name ?? "").path
            let text = try TextFile.read(path, keepingByteOrderMark: true)
            let ids = try tokenizer.encode(text)
            #expect(ids.count == entry.tokens, "\(path)")
            #expect(hash(ids) == entry.sha256_ids_u32le, "\(path)")
            #expect(tokenizer.decodeBytes(ids) == Array(text.utf8), "\(path)")
        }
    }

    @Test func everyGutenbergBookRoundTripsByteForByte() throws {
        let tokenizer = GPT2TokenizerTests.tokenizer
        for file in Self.gutenbergFiles {
            let data = try Data(contentsOf: file)
            let ids = try tokenizer.encode(String(decoding: data, as: UTF8.self))
            #expect(tokenizer.decodeBytes(ids) == Array(data), "\(file.lastPathComponent)")
        }
    }

    @Test func trainedBPERoundTripsTextAndRandomBytes() throws {
        let text = try TextFile.read(sharedDataDirectory.appendingPathComponent("corpus/wikitext2_valid.tokens.txt").path, keepingByteOrderMark: true)
        let tokenizer = try BytePairTrainer.train(texts: [String(text.prefix(200_000))], vocabularySize: 2000)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        var generator: UInt64 = 99
        for _ in 0..<100 {
            var bytes: [UInt8] = []
            for _ in 0..<64 {
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: generator >> 56))
            }
            // Any byte string, invalid UTF-8 included, encodes and decodes back to itself.
            #expect(tokenizer.decodeBytes(try tokenizer.encode(bytes: bytes)) == bytes)
            let gpt2 = GPT2TokenizerTests.tokenizer
            #expect(gpt2.decodeBytes(try gpt2.encode(bytes: bytes)) == bytes)
            let string = String(decoding: bytes, as: UTF8.self)
            #expect(tokenizer.decode(try tokenizer.encode(string)) == string)
        }
    }
}
