import Foundation
import GPTTokenizer
import Testing

/// GPT-2's own vocabulary, token for token against tiktoken and llama.cpp's vectors.
@Suite struct GPT2TokenizerTests {
    static let dataDirectory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("shared/data")
    }()
    static let tokenizer: BytePairTokenizer = try! GPT2Files.load(from: dataDirectory.appendingPathComponent("gpt2"))

    struct Vector: Decodable {
        let text: String
        let ids: [Int]
        let note: String?
    }

    static func vectors(_ name: String) throws -> [Vector] {
        let url = dataDirectory.appendingPathComponent("gpt2/testvectors/\(name)")
        return try JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }

    @Test(arguments: ["gpt2_vectors_llamacpp.json", "gpt2_vectors_tiktoken.json"])
    func everyVectorMatches(file: String) throws {
        let vectors = try Self.vectors(file)
        #expect(vectors.count >= 12)
        for vector in vectors {
            let allowSpecial = vector.note?.hasPrefix("special token") == true
            let ids = try Self.tokenizer.encode(vector.text, specialTokens: allowSpecial ? .allowed : .ordinary)
            #expect(ids == vector.ids, "\(vector.text.debugDescription)")
            #expect(Self.tokenizer.decode(ids) == vector.text)
        }
    }

    @Test func vocabularyShapeAndSpecialTokens() throws {
        let tokenizer = Self.tokenizer
        #expect(tokenizer.vocabularySize == 50257)
        #expect(tokenizer.merges.count == 50000)
        #expect(tokenizer.endOfTextToken == 50256)
        #expect(try tokenizer.encode("a<|endoftext|>b", specialTokens: .allowed) == [64, 50256, 65])
        #expect(throws: TokenizerError.self) { try tokenizer.encode("a<|endoftext|>b", specialTokens: .rejected) }
        #expect(try tokenizer.encode("a<|endoftext|>b").count == 9)  // ordinary text by default
    }

    @Test func decodesAnyBytesIncludingInvalidUTF8() throws {
        // " “" is [564, 250]: token 564 holds a space and the first two of the quote's three bytes.
        #expect(try Self.tokenizer.encode(" “") == [564, 250])
        #expect(Self.tokenizer.decodeBytes([564]) == [0x20, 0xE2, 0x80])
        #expect(Self.tokenizer.decode([564]) == " \u{FFFD}")
        var decoder = StreamingDecoder(tokenizer: Self.tokenizer)
        #expect(decoder.append(564) == " ")
        #expect(decoder.append(250) == "“")
        #expect(decoder.finish() == "")
    }

    @Test func roundTripsSeededRandomText() throws {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet: [Unicode.Scalar] = Array("aZ 9'\n\t.,!?é日本語🙂\u{00A0}\u{2028}ʼs".unicodeScalars)
        for _ in 0..<200 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int(next() % 40) { text.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            let string = String(text)
            #expect(Self.tokenizer.decode(try Self.tokenizer.encode(string)) == string)
        }
    }
}

/// Found by the fuzzer (Scripts/fuzz.sh): ids that would size an allocation, nested JSON, fractional ids.
@Suite struct HostileVocabularyTests {
    func load(_ vocabulary: String, merges: String = "#version: 0.2\n") throws -> BytePairTokenizer {
        try GPT2Files.load(
            vocabulary: Data(vocabulary.utf8), merges: Data(merges.utf8), vocabularySource: "encoder.json",
            mergesSource: "vocab.bpe", source: "test")
    }

    /// The 256 byte tokens, as GPT-2's printable alphabet maps them, with ids 0…255.
    var bytes: [String: Int] {
        var tokens: [String: Int] = [:]
        for byte in 0..<256 { tokens[ByteLevel.string(for: [UInt8(byte)])] = byte }
        return tokens
    }

    func json(_ tokens: [String: Int]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: tokens), as: UTF8.self)
    }

    @Test func idsBeyondTheVocabularyAreRefusedBeforeAllocating() throws {
        for id in [256 + 1, 1 << 40, Int.max / 2] {
            var tokens = bytes
            tokens["<|endoftext|>"] = id
            #expect(throws: TokenizerError.self) { try load(json(tokens)) }
        }
        var tokens = bytes
        tokens["<|endoftext|>"] = 256
        #expect(try load(json(tokens)).vocabularySize == 257)
    }

    @Test func nestedOrFractionalJSONIsRefused() throws {
        #expect(throws: TokenizerError.self) { try load(String(repeating: "[", count: 100_000)) }
        #expect(throws: TokenizerError.self) { try load("{\"a\": 1.5}") }
        #expect(throws: TokenizerError.self) {
            try TokenizerDescription(data: Data(String(repeating: "{\"a\":", count: 10_000).utf8), source: "deep.json")
        }
    }
}
