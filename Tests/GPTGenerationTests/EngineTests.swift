import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer
import Testing

@Suite struct EngineTests {
    let tokenizer = CharacterTokenizer(training: "abcdefgh .\n")

    func generator(contextLength: Int = 16) throws -> TextGenerator {
        var random = RandomGenerator(seed: 2)
        let model = try GPT(
            configuration: GPTConfiguration(vocabularySize: tokenizer.vocabularySize, contextLength: contextLength, embeddingSize: 16, layerCount: 2, headCount: 2),
            generator: &random)
        return TextGenerator(model: model, tokenizer: tokenizer, parallelism: Parallelism(threads: 1))
    }

    @Test func stopSequencesMatchAcrossTokenBoundariesAndAreNotShown() throws {
        var text = GeneratedText(tokenizer: tokenizer, stopSequences: ["h ."])
        var shown = ""
        var stopped = false
        for character in "abh h ." {
            let (piece, stop) = text.append(try tokenizer.encode(String(character))[0])
            shown += piece
            stopped = stop
            if stop { break }
        }
        #expect(stopped)
        #expect(shown == "abh ")  // "h ." is held back as it forms and never printed
        #expect(text.text == "abh ")
        // A possible prefix that does not complete is released at the end.
        var partial = GeneratedText(tokenizer: tokenizer, stopSequences: ["h ."])
        #expect(partial.append(try tokenizer.encode("a")[0]).0 == "a")
        #expect(partial.append(try tokenizer.encode("h")[0]).0 == "")
        #expect(partial.finish() == "h")
    }

    @Test func contextPoliciesSlideOrStop() throws {
        let engine = try generator(contextLength: 8)
        var options = GenerationOptions()
        options.maxTokens = 30
        var random = RandomGenerator(seed: 1)
        let slid = try engine.generate(prompt: [1, 2, 3], options: options, generator: &random)
        #expect(slid.tokens.count == 30 && slid.finishReason == .length)
        // Sliding keeps the last half of the context: after the first slide (the 6th token fills the
        // 8 positions), greedy decoding continues exactly as from a prompt of those 4 tokens.
        var greedy = options
        greedy.sampling.temperature = 0
        let history = [1, 2, 3] + (try engine.generate(prompt: [1, 2, 3], options: greedy, generator: &random).tokens)
        greedy.maxTokens = 1
        let restart = try engine.generate(prompt: Array(history[5..<9]), options: greedy, generator: &random)
        #expect(restart.tokens == [history[9]])
        options.contextPolicy = .stop
        let stopped = try engine.generate(prompt: [1, 2, 3], options: options, generator: &random)
        #expect(stopped.finishReason == .context)
        #expect(stopped.tokens.count == 6)  // 3 prompt positions + 5 generated fill 8, the 6th needs a 9th position
    }

    @Test func endOfTextEndsGenerationUnlessIgnored() throws {
        let gpt2Like = try BytePairTrainer.train(texts: ["abc abc abd"], vocabularySize: 260, specialTokens: ["<|endoftext|>"])
        var random = RandomGenerator(seed: 3)
        let model = try GPT(
            configuration: GPTConfiguration(vocabularySize: gpt2Like.vocabularySize, contextLength: 16, embeddingSize: 16, layerCount: 1, headCount: 2),
            generator: &random)
        let engine = TextGenerator(model: model, tokenizer: gpt2Like, parallelism: Parallelism(threads: 1))
        var options = GenerationOptions()
        options.sampling.logitBias = [gpt2Like.endOfTextToken!: 100]
        options.maxTokens = 5
        let ended = try engine.generate(prompt: [97], options: options, generator: &random)
        #expect(ended.finishReason == .endOfText && ended.tokens.isEmpty)
        options.ignoreEndOfText = true
        let ignored = try engine.generate(prompt: [97], options: options, generator: &random)
        #expect(ignored.tokens.count == 5 && ignored.finishReason == .length)
    }

    @Test func theStreamYieldsWhatGenerateReturns() async throws {
        let engine = try generator()
        var options = GenerationOptions()
        options.maxTokens = 12
        var random = RandomGenerator(seed: 9)
        let direct = try engine.generate(prompt: [1], options: options, generator: &random)
        var tokens: [Int] = []
        var text = ""
        var final: GenerationResult?
        for try await event in engine.stream(prompt: [1], options: options, seed: 9) {
            if event.token >= 0 { tokens.append(event.token) }
            text += event.text
            if let result = event.result { final = result }
        }
        #expect(tokens == direct.tokens)
        #expect(text == direct.text)
        #expect(final?.finishReason == .length)
    }

    @Test func statisticsCountDistinctAndRepeatedNgrams() {
        let statistics = SampleStatistics(tokens: [1, 2, 3, 1, 2, 3, 1, 2], logprobs: [-1, -2])
        #expect(statistics.distinct1 == 3.0 / 8)
        #expect(statistics.distinct2 == 3.0 / 7)
        #expect(abs(statistics.repeated4gramRate - 2.0 / 5) < 1e-12)
        #expect(statistics.meanLogprob == -1.5)
    }
}
