import Foundation
import GPTFormats
import GPTTestSupport
import GPTTokenizer
import Testing

/// A BPE trained here against Scripts/tokenizer_reference.py, an independent, naive
/// implementation of the same algorithm (fixture: Fixtures/bpe-trained.json).
@Suite struct BytePairTrainerTests {
    struct Fixture: Decodable {
        let vocab_size: Int
        let special_tokens: [String]
        let merges: [[Int]]
        let encodings: [Encoding]
        let encodings_with_special: [Encoding]
        struct Encoding: Decodable {
            let text: String
            let ids: [Int]
            let allowed_special: [String]?
        }
    }

    static let fixture: Fixture = {
        let url = projectRoot.appendingPathComponent("Tests/GPTTokenizerTests/Fixtures/bpe-trained.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func trainingText() throws -> String {
        let data = try Data(contentsOf: sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt"))
        return String(decoding: data.prefix(20_000), as: UTF8.self)
    }

    @Test func mergesAndIdsMatchTheReference() throws {
        let fixture = Self.fixture
        let tokenizer = try BytePairTrainer.train(
            texts: [try Self.trainingText()], vocabularySize: fixture.vocab_size, specialTokens: fixture.special_tokens)
        #expect(tokenizer.vocabularySize == fixture.vocab_size)
        #expect(tokenizer.merges.map { [$0.0, $0.1] } == fixture.merges)
        #expect(!fixture.encodings_with_special.isEmpty)
        for encoding in fixture.encodings + fixture.encodings_with_special {
            let policy: SpecialTokenPolicy = (encoding.allowed_special ?? []).isEmpty ? .ordinary : .allowed
            #expect(try tokenizer.encode(encoding.text, specialTokens: policy) == encoding.ids, "\(encoding.text.debugDescription)")
        }
    }

    @Test func savesLoadsAndExportsAsGPT2Files() throws {
        let tokenizer = try BytePairTrainer.train(
            texts: [try Self.trainingText()], vocabularySize: 300, specialTokens: ["<|endoftext|>"])
        let text = "To be, or not to be: that is the question.\n<|endoftext|>"
        let expected = try tokenizer.encode(text, specialTokens: .allowed)
        let restored = try TokenizerDescription(data: try tokenizer.description.encoded(), source: "t").makeTokenizer()
        #expect(try (restored as! BytePairTokenizer).encode(text, specialTokens: .allowed) == expected)
        let directory = temporaryDirectory("bpe-export")
        _ = try GPT2Files.export(tokenizer, to: directory)
        let reloaded = try GPT2Files.load(from: directory)
        #expect(try reloaded.encode(text, specialTokens: .allowed) == expected)
        #expect(reloaded.vocabularySize == 300)
    }

    @Test func badSizesAndSpecialTokensAreErrors() {
        #expect(throws: TokenizerError.self) { try BytePairTrainer.train(texts: ["abc"], vocabularySize: 255) }
        #expect(throws: TokenizerError.self) {
            try BytePairTrainer.train(texts: ["abc"], vocabularySize: 256, specialTokens: ["<|endoftext|>"])
        }
        #expect(throws: TokenizerError.self) {
            try BytePairTrainer.train(texts: ["abc"], vocabularySize: BytePairTrainer.maximumVocabularySize + 1)
        }
        #expect(throws: TokenizerError.self) {
            try BytePairTrainer.train(texts: ["abc"], vocabularySize: 300, specialTokens: ["<s>", "<s>"])
        }
    }

    @Test func smallTextStopsWhenNoPairsAreLeft() throws {
        let tokenizer = try BytePairTrainer.train(texts: ["ab ab"], vocabularySize: 1000)
        // Pieces "ab" and " ab": merges a+b, then " "+"ab".
        #expect(tokenizer.merges.count == 2)
        #expect(try tokenizer.encode("ab ab") == [256, 257])
    }
}
