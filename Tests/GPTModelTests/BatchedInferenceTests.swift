import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Sequences of different lengths in one pass: each sequence's logits are the same bits alone or
/// among others, whole or in prefill chunks, and match the ordinary cached inference.
@Suite struct BatchedInferenceTests {
    static func model() throws -> GPT {
        var random = RandomGenerator(seed: 5)
        return try GPT(
            configuration: GPTConfiguration(vocabularySize: 53, contextLength: 32, embeddingSize: 48, layerCount: 2, headCount: 4),
            generator: &random)
    }

    static let prompts: [[Int32]] = [
        [1, 7, 9, 22, 3, 3, 40, 12, 8, 51, 0],
        [5, 6],
        [44, 2, 17, 30, 30, 1, 9],
    ]
    static let continuations: [[Int32]] = [[4, 8, 15], [16, 23, 42], [7, 7, 7]]

    /// Prompt `index` prefilled in chunks of `chunk`, then its continuation one token per step; each
    /// step's logits (the last row), with `others` running their own prompts alongside in every step.
    static func logits(_ session: BatchedInferenceSession, index: Int, chunk: Int, others: [Int]) throws -> [[Float]] {
        let configuration = session.model.configuration
        let cache = KVCache(configuration: configuration)
        let otherCaches = others.map { _ in KVCache(configuration: configuration) }
        var feeds: [[Int32]] = stride(from: 0, to: prompts[index].count, by: chunk).map {
            Array(prompts[index][$0..<min($0 + chunk, prompts[index].count)])
        }
        feeds += continuations[index].map { [$0] }
        var results: [[Float]] = []
        for (step, feed) in feeds.enumerated() {
            var steps = [SequenceStep(cache: cache, tokens: feed)]
            for (other, otherCache) in zip(others, otherCaches) where step < prompts[other].count {
                // Neighbours at other positions: one token of their own prompt per step, listed first.
                steps.insert(SequenceStep(cache: otherCache, tokens: [prompts[other][step]]), at: 0)
            }
            let out = try session.forward(steps)
            results.append(Array(out[steps.count - 1].suffix(configuration.vocabularySize)))
        }
        return results
    }

    @Test func aSequenceGetsTheSameLogitsAloneAmongOthersAndInChunks() throws {
        let model = try Self.model()
        for level in KernelLevel.supported {
            let session = BatchedInferenceSession(model: model, parallelism: Parallelism(threads: 2), level: level)
            for index in Self.prompts.indices {
                let alone = try Self.logits(session, index: index, chunk: 64, others: [])
                let together = try Self.logits(session, index: index, chunk: 64, others: [0, 1, 2, 0])
                let chunked = try Self.logits(session, index: index, chunk: 3, others: [2, 1])
                // Whole prompt vs chunks: the rows both have — the prompt's last position, then the decode steps.
                let decodeSteps = Self.continuations[index].count
                #expect(alone == together, "\(level) prompt \(index)")
                #expect(Array(alone.suffix(decodeSteps + 1)) == Array(chunked.suffix(decodeSteps + 1)), "\(level) prompt \(index)")
            }
        }
    }

    @Test func matchesOrdinaryCachedInference() throws {
        let model = try Self.model()
        let batched = BatchedInferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let ordinary = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        for index in Self.prompts.indices {
            let prompt = Self.prompts[index]
            let cache = KVCache(configuration: model.configuration)
            let expected = Array(try ordinary.forward(tokens: prompt, count: prompt.count, cache: cache, positions: .all))
            let got = Array(try batched.forward([SequenceStep(cache: KVCache(configuration: model.configuration), tokens: prompt, allLogits: true)])[0])
            #expect(got.count == expected.count)
            #expect(zip(got, expected).allSatisfy { abs($0 - $1) < 1e-4 }, "prompt \(index)")
        }
    }

    @Test func refusesWhatDoesNotFit() throws {
        let model = try Self.model()
        let session = BatchedInferenceSession(model: model, parallelism: Parallelism(threads: 1))
        let cache = KVCache(configuration: model.configuration)
        #expect(throws: ModelError.self) { try session.forward([SequenceStep(cache: cache, tokens: [Int32](repeating: 1, count: 33))]) }
        #expect(throws: ModelError.self) { try session.forward([SequenceStep(cache: cache, tokens: [60])]) }
        #expect(throws: ModelError.self) { try session.forward([SequenceStep(cache: cache, tokens: [])]) }
        #expect(cache.length == 0)
    }
}
