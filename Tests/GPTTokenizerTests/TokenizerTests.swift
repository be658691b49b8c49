import Foundation
import GPTTokenizer
import Testing

@Suite struct CharacterTokenizerTests {
    @Test func vocabularyIsTheSortedSetOfScalars() throws {
        let tokenizer = CharacterTokenizer(training: "hello, world\n")
        #expect(tokenizer.scalars.map { String($0) } == ["\n", " ", ",", "d", "e", "h", "l", "o", "r", "w"])
        #expect(tokenizer.vocabularySize == 10)
        #expect(try tokenizer.encode("hello") == [5, 4, 6, 6, 7])
        #expect(tokenizer.decode(try tokenizer.encode("world, hello\n")) == "world, hello\n")
        #expect(tokenizer.startToken == 0)  // the newline
        #expect(tokenizer.endOfTextToken == nil)
    }

    @Test func aUnicodeScalarIsOneToken() throws {
        let text = "e\u{301} 🙂 日本"  // e + combining acute: two scalars, one Character
        let tokenizer = CharacterTokenizer(training: text)
        #expect(try tokenizer.encode(text).count == text.unicodeScalars.count)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
    }

    @Test func unknownCharactersAreNamed() {
        let tokenizer = CharacterTokenizer(training: "abc")
        #expect(throws: TokenizerError.self) { try tokenizer.encode("abz") }
        do {
            _ = try tokenizer.encode("ab\tz")
            Issue.record("text with characters outside the vocabulary was encoded")
        } catch let error as TokenizerError {
            #expect(error.message.contains("U+0009"))
            #expect(error.message.contains("vocabulary of 3"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func descriptionRoundTrips() throws {
        let tokenizer = CharacterTokenizer(training: "To be, or not to be\n")
        let data = try tokenizer.description.encoded()
        let restored = try TokenizerDescription(data: data, source: "t").makeTokenizer()
        #expect(try restored.encode("not to be") == (try tokenizer.encode("not to be")))
        #expect(throws: TokenizerError.self) { try TokenizerDescription(data: Data("{}".utf8), source: "t") }
        #expect(throws: TokenizerError.self) {
            try TokenizerDescription(data: Data(#"{"type":"character","vocabulary":["ab"]}"#.utf8), source: "t")
        }
    }
}

@Suite struct StreamingDecoderTests {
    /// A tokenizer whose tokens are single bytes, to split multi-byte characters.
    struct ByteTokenizer: Tokenizer {
        var vocabularySize: Int { 256 }
        var kind: String { "bytes" }
        var endOfTextToken: Int? { nil }
        var startToken: Int { 0 }
        func encode(_ text: String) throws -> [Int] { text.utf8.map(Int.init) }
        func decodeBytes(_ tokens: [Int]) -> [UInt8] { tokens.map { UInt8($0) } }
        var description: TokenizerDescription { .character(["x"]) }
    }

    @Test func neverEmitsHalfACharacter() throws {
        let tokenizer = ByteTokenizer()
        let text = "a€b🙂c"
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces: [String] = []
        for token in try tokenizer.encode(text) { pieces.append(decoder.append(token)) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(pieces.filter { !$0.isEmpty } == ["a", "€", "b", "🙂", "c"])
    }
}

/// Whatever a character vocabulary holds, the tokenizer file writes and reads it back (issue 24).
@Suite struct CharacterVocabularyFileTests {
    /// U+FEFF (alone and before a letter), a combining mark, canonically equivalent Å (U+212B) and
    /// Å (U+00C5), a character outside the Basic Multilingual Plane, a control character.
    static let text = "\u{FEFF}ab\u{FEFF}c e\u{0301} \u{212B}\u{00C5} 😀\t\n"

    @Test func everyScalarRoundTripsThroughTheFile() throws {
        let tokenizer = CharacterTokenizer(training: Self.text)
        #expect(tokenizer.vocabularySize == Set(Self.text.unicodeScalars).count)
        let data = try tokenizer.description.encoded()
        let read = try TokenizerDescription(data: data, source: "t.json").makeTokenizer() as! CharacterTokenizer
        #expect(read == tokenizer)
        #expect(read.decode(try read.encode(Self.text)) == Self.text)
        #expect(Array(read.decode(try read.encode(Self.text)).unicodeScalars) == Array(Self.text.unicodeScalars))
    }

    @Test func aFileWrittenBeforeTheFixWithAByteOrderMarkEntryLoads() throws {
        // What `gpt train` wrote for a BOM-prefixed book: U+FEFF as the last entry.
        let json = "{\"type\":\"character\",\"vocabulary\":[\"\\n\",\" \",\"a\",\"b\",\"\u{FEFF}\"]}"
        let tokenizer = try TokenizerDescription(data: Data(json.utf8), source: "old.json").makeTokenizer()
        #expect(tokenizer.vocabularySize == 5)
        #expect(try tokenizer.encode("\u{FEFF}ab") == [4, 2, 3])
    }

    @Test(arguments: [
        ("{\"type\":\"character\",\"vocabulary\":[\"a\",\"bc\"]}", "entry 1 holds 2 characters (U+62 U+63)"),
        ("{\"type\":\"character\",\"vocabulary\":[\"a\",\"\",\"c\"]}", "entry 1 holds 0 characters (nothing)"),
        ("{\"type\":\"character\",\"vocabulary\":[\"a\",\"b\",\"a\"]}", "entries 0 and 2 are both U+61"),
    ])
    func badEntriesAreNamedWithTheirPosition(json: String, fragment: String) {
        do {
            _ = try TokenizerDescription(data: Data(json.utf8), source: "t.json")
            Issue.record("accepted \(json)")
        } catch let error as TokenizerError {
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
