import GPTTokenizer
import Testing

@Suite struct WordTokenizerTests {
    @Test func splitsWordsAndPunctuation() {
        #expect(WordTokenizer.split("Hello, world!") == ["Hello", ",", "world", "!"])
        #expect(WordTokenizer.split("don't stop—well-known (2024)\nnext") ==
            ["don't", "stop", "—", "well-known", "(", "2024", ")", "\n", "next"])
    }

    @Test func capsTheVocabularyAndMapsTheRestToUnknown() throws {
        let tokenizer = try WordTokenizer(training: ["the cat sat on the mat. the end."], vocabularySize: 4)
        // <unk>, then by count: "the" (3), "." (2), then ties in code-point order: "cat".
        #expect(tokenizer.words == ["<unk>", "the", ".", "cat"])
        #expect(try tokenizer.encode("the dog sat.") == [1, 0, 0, 2])
        #expect(tokenizer.decode([1, 0, 2]) == "the <unk>.")
        #expect(throws: TokenizerError.self) { try WordTokenizer(training: ["x"], vocabularySize: 1) }
    }

    @Test func normalFormTextRoundTrips() throws {
        let text = "First Citizen:\nBefore we proceed any further, hear me speak.\nAll: (Speak, speak!)\n"
        let tokenizer = try WordTokenizer(training: [text], vocabularySize: 100)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        let messy = "Before   we\tproceed ,hear"
        let once = tokenizer.decode(try tokenizer.encode(messy))
        #expect(once == "Before we proceed, hear")
        #expect(tokenizer.decode(try tokenizer.encode(once)) == once)
        let restored = try TokenizerDescription(data: try tokenizer.description.encoded(), source: "t").makeTokenizer()
        #expect(try restored.encode(text) == (try tokenizer.encode(text)))
    }
}
