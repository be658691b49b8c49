import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTestSupport
import GPTTokenizer
import GPTTraining
import Testing

/// A Hugging Face GPT-2 directory as `save_pretrained` writes it (with its BPE tokenizer),
/// against transformers' own numbers (Scripts/make_generation_fixture.py).
@Suite struct HuggingFaceGenerationTests {
    struct Expected: Decodable {
        struct Perplexity: Decodable { let stride: Int; let nll_sum: Double; let tokens: Int }
        struct Greedy: Decodable { let prompt: [Int]; let new_tokens: [Int]; let logprobs: [Float] }
        struct Beam: Decodable {
            struct Sequence: Decodable { let new_tokens: [Int]; let sequence_score: Float; let sum_logprob: Float }
            let prompt: [Int]; let num_beams: Int; let max_new_tokens: Int; let sequences: [Sequence]
        }
        let text: String
        let ids: [Int]
        let last_logits_input_length: Int
        let last_logits: [Float]
        let perplexity: [Perplexity]
        let greedy: Greedy
        let beam: Beam
        let eot_id: Int
    }

    static let directory = projectRoot.appendingPathComponent("Tests/GPTGenerationTests/Fixtures/hf-gpt2-bpe")
    static let expected: Expected = try! JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: projectRoot.appendingPathComponent("Tests/GPTGenerationTests/Fixtures/hf-gpt2-bpe-expected.json")))

    func load() throws -> (GPT, any Tokenizer) {
        (try ModelDirectory.loadModel(Self.directory), try ModelDirectory.loadTokenizer(Self.directory))
    }

    @Test func directoryLoadsWithItsTokenizerAndLogitsMatch() throws {
        let (model, tokenizer) = try load()
        #expect(model.configuration.vocabularySize == 300)
        #expect(tokenizer.endOfTextToken == Self.expected.eot_id)
        #expect(try tokenizer.encode(Self.expected.text) == Self.expected.ids)
        #expect(tokenizer.decode(Self.expected.ids) == Self.expected.text)
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let input = Self.expected.ids.prefix(Self.expected.last_logits_input_length).map(Int32.init)
        let cache = KVCache(configuration: model.configuration)
        let logits = Array(try session.forward(tokens: Array(input), count: input.count, cache: cache))
        expectClose(logits, Self.expected.last_logits, absolute: 2e-4, relative: 1e-4, "last logits")
    }

    @Test func slidingWindowPerplexityMatchesTransformers() throws {
        let (model, _) = try load()
        let ids = Self.expected.ids.map(Int32.init)
        for reference in Self.expected.perplexity {
            let result = try SequenceEvaluation.evaluate(
                model: model, tokens: ids, stride: reference.stride, parallelism: Parallelism(threads: 2))
            // Every target is scored once; for strides below the context this is transformers' computation.
            #expect(result.tokens == ids.count - 1)
            if reference.stride < model.configuration.contextLength {
                #expect(reference.tokens == result.tokens)
                #expect(abs(result.loss * Double(result.tokens) - reference.nll_sum) < 2e-3, "stride \(reference.stride)")
            }
        }
        #expect(throws: InvalidValue.self) {
            try SequenceEvaluation.evaluate(model: model, tokens: ids, stride: 0, parallelism: Parallelism(threads: 1))
        }
        #expect(throws: InvalidValue.self) {
            try SequenceEvaluation.evaluate(model: model, tokens: ids, stride: 33, parallelism: Parallelism(threads: 1))
        }
    }

    @Test func greedyDecodingAndLogprobsMatchTransformers() throws {
        let (model, tokenizer) = try load()
        let generator = TextGenerator(model: model, tokenizer: tokenizer, parallelism: Parallelism(threads: 2))
        var options = GenerationOptions()
        options.maxTokens = Self.expected.greedy.new_tokens.count
        options.sampling.temperature = 0
        options.ignoreEndOfText = true
        options.logprobs = 3
        var random = RandomGenerator(seed: 1)
        let result = try generator.generate(prompt: Self.expected.greedy.prompt, options: options, generator: &random)
        #expect(result.tokens == Self.expected.greedy.new_tokens)
        expectClose(result.logprobs.map(\.logprob), Self.expected.greedy.logprobs, absolute: 1e-4, relative: 1e-4, "logprobs")
        #expect(result.logprobs.allSatisfy { $0.alternatives.count == 3 && $0.alternatives[0].token == $0.token })
        #expect(result.finishReason == .length)
    }

    @Test func beamSearchMatchesTransformersAndBeatsGreedy() throws {
        let (model, tokenizer) = try load()
        let generator = TextGenerator(model: model, tokenizer: tokenizer, parallelism: Parallelism(threads: 2))
        let beam = Self.expected.beam
        var options = BeamSearchOptions()
        options.beams = beam.num_beams
        options.maxTokens = beam.max_new_tokens
        options.returnCount = beam.num_beams
        options.ignoreEndOfText = true
        let hypotheses = try generator.beamSearch(prompt: beam.prompt, options: options)
        #expect(hypotheses.map(\.tokens) == beam.sequences.map(\.new_tokens))
        expectClose(hypotheses.map(\.score), beam.sequences.map(\.sequence_score), absolute: 1e-4, relative: 1e-4, "scores")
        // Greedy is not optimal on this model: the best beam has a higher log-probability.
        let greedyPrefix = Self.expected.greedy.logprobs.prefix(beam.max_new_tokens).reduce(0, +)
        #expect(hypotheses[0].logprobSum > greedyPrefix)
        // One beam is greedy.
        options.beams = 1
        options.returnCount = 1
        let single = try generator.beamSearch(prompt: beam.prompt, options: options)
        #expect(single[0].tokens == Array(Self.expected.greedy.new_tokens.prefix(beam.max_new_tokens)))
    }
}
