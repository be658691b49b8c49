import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer
import Synchronization
import Testing

/// One model, many sessions at once: the same results as one at a time, and streams that stop
/// when their consumer does.
@Suite struct ConcurrencyTests {
    static func model(seed: UInt64 = 12, contextLength: Int = 24) throws -> GPT {
        var random = RandomGenerator(seed: seed)
        return try GPT(
            configuration: GPTConfiguration(vocabularySize: 29, contextLength: contextLength, embeddingSize: 32, layerCount: 2, headCount: 4),
            generator: &random)
    }

    /// Prefill `prompt`, then decode five tokens of it; every step's logits.
    static func cachedLogits(_ model: GPT, prompt: [Int32]) throws -> [Float] {
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let cache = KVCache(configuration: model.configuration)
        var logits = Array(try session.forward(tokens: Array(prompt.prefix(4)), count: 4, cache: cache))
        for token in prompt.dropFirst(4) { logits += try session.forward(tokens: [token], count: 1, cache: cache) }
        return logits
    }

    static func gradients(_ model: GPT, tokens: [Int32]) throws -> [Float] {
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        try session.forward(tokens: tokens, targets: tokens.reversed(), batch: 2, length: tokens.count / 2, training: true)
        try session.backward()
        return session.gradients.array
    }

    @Test func sessionsOverOneModelGiveTheSameResultsConcurrently() async throws {
        let model = try Self.model()
        let prompts: [[Int32]] = (0..<6).map { row in (0..<9).map { Int32((row * 7 + $0 * 3) % 29) } }
        let batch: [Int32] = (0..<32).map { Int32($0 * 5 % 29) }
        let alone = try prompts.map { try Self.cachedLogits(model, prompt: $0) }
        let aloneGradients = try Self.gradients(model, tokens: batch)
        let together = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, prompt) in prompts.enumerated() {
                group.addTask { (index, try Self.cachedLogits(model, prompt: prompt)) }
            }
            group.addTask { (-1, try Self.gradients(model, tokens: batch)) }  // a training pass alongside
            var results: [Int: [Float]] = [:]
            for try await (index, values) in group { results[index] = values }
            return results
        }
        for index in prompts.indices { #expect(together[index] == alone[index], "prompt \(index)") }
        #expect(together[-1] == aloneGradients)
    }

    @Test func generatorsOverOneModelGiveTheSameTextsConcurrently() async throws {
        let model = try Self.model()
        let tokenizer = CharacterTokenizer(training: "abcdefghijklmnopqrstuvwxyz .\n")
        let seeds: [UInt64] = [1, 2, 3, 4]
        @Sendable func generate(_ seed: UInt64) throws -> [Int] {
            var options = GenerationOptions()
            options.maxTokens = 40
            var random = RandomGenerator(seed: seed)
            let generator = TextGenerator(model: model, tokenizer: tokenizer, parallelism: Parallelism(threads: 2))
            return try generator.generate(prompt: [1, 2, 3], options: options, generator: &random).tokens
        }
        let alone = try seeds.map(generate)
        let together = try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (index, seed) in seeds.enumerated() { group.addTask { (index, try generate(seed)) } }
            var results = [[Int]](repeating: [], count: seeds.count)
            for try await (index, tokens) in group { results[index] = tokens }
            return results
        }
        #expect(together == alone)
        #expect(alone.allSatisfy { $0.count == 40 })
    }

    /// Counts the tokens the generation has turned into text (`GeneratedText` decodes each one).
    struct CountingTokenizer: Tokenizer {
        let base: CharacterTokenizer
        let decoded: Counter
        var vocabularySize: Int { base.vocabularySize }
        var kind: String { base.kind }
        var endOfTextToken: Int? { nil }
        var startToken: Int { base.startToken }
        var description: TokenizerDescription { base.description }
        func encode(_ text: String) throws -> [Int] { try base.encode(text) }
        func decodeBytes(_ ids: [Int]) -> [UInt8] {
            decoded.add(ids.count)
            return base.decodeBytes(ids)
        }
    }

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func add(_ amount: Int) { value.add(amount, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    @Test func aCancelledStreamStopsWithinOneToken() async throws {
        let counter = Counter()
        let tokenizer = CountingTokenizer(base: CharacterTokenizer(training: "abcdefghijklmnopqrstuvwxyz .\n"), decoded: counter)
        let generator = TextGenerator(model: try Self.model(contextLength: 64), tokenizer: tokenizer, parallelism: Parallelism(threads: 1))
        var options = GenerationOptions()
        options.maxTokens = 1_000_000  // slides through the context forever unless stopped
        let consumer = Task { () -> (events: Int, decodedAtCancel: Int) in
            var events = 0
            for try await _ in generator.stream(prompt: [1], options: options, seed: 5) {
                events += 1
                if events == 3 { break }  // the consumer stops listening
            }
            return (events, counter.count)
        }
        let (events, decodedAtCancel) = try await consumer.value
        #expect(events == 3)
        try await Task.sleep(for: .milliseconds(300))
        let settled = counter.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(counter.count == settled, "generation goes on after the consumer left")
        #expect(settled - decodedAtCancel <= 1, "\(settled - decodedAtCancel) tokens generated after the consumer left")
    }
}
