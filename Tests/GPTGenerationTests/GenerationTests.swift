import GPTGeneration
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

@Suite struct SamplerTests {
    let logits: [Float] = [0.1, 2.0, -1.0, 1.5, 0.0]

    func sample(_ sampler: Sampler, seed: UInt64, count: Int) -> [Int] {
        var generator = Generator(seed: seed)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: logits.count)
        defer { scratch.deallocate() }
        return logits.withUnsafeBufferPointer { logits in
            (0..<count).map { _ in sampler.sample(logits, scratch: scratch, generator: &generator) }
        }
    }

    @Test func temperatureZeroAndTopOneAreGreedy() {
        #expect(sample(Sampler(temperature: 0), seed: 1, count: 20).allSatisfy { $0 == 1 })
        #expect(sample(Sampler(temperature: 1, topK: 1), seed: 1, count: 20).allSatisfy { $0 == 1 })
    }

    @Test func topKKeepsOnlyTheKMostLikely() {
        let draws = sample(Sampler(temperature: 2, topK: 2), seed: 2, count: 2000)
        #expect(Set(draws) == [1, 3])
    }

    @Test func frequenciesFollowTheSoftmax() {
        let draws = sample(Sampler(temperature: 1), seed: 3, count: 40_000)
        let exponentials = logits.map { exp(Double($0)) }
        let total = exponentials.reduce(0, +)
        for token in logits.indices {
            let observed = Double(draws.filter { $0 == token }.count) / Double(draws.count)
            #expect(abs(observed - exponentials[token] / total) < 0.01, "token \(token)")
        }
        #expect(sample(Sampler(temperature: 1), seed: 3, count: 50) == sample(Sampler(temperature: 1), seed: 3, count: 50))
    }
}

@Suite struct TextGeneratorTests {
    @Test func generatesTheRequestedNumberOfTokensAndCropsLongPrompts() throws {
        var generator = Generator(seed: 1)
        let model = try GPTModel(
            configuration: GPTConfiguration(vocabularySize: 13, contextLength: 8, embeddingSize: 16, layers: 1, heads: 2),
            generator: &generator)
        let textGenerator = TextGenerator(model: model, parallelism: Parallelism(threads: 1))
        var produced: [Int] = []
        try textGenerator.generate(prompt: Array(repeating: 3, count: 20), maxTokens: 12, sampler: Sampler(), generator: &generator) {
            produced.append($0)
            return true
        }
        #expect(produced.count == 12)
        #expect(produced.allSatisfy { (0..<13).contains($0) })
        // Logits computed for the last position only equal those of a full forward pass.
        let window: [Int32] = [1, 2, 3, 4]
        let context = KernelContext(parallelism: Parallelism(threads: 1))
        try model.forward(tokens: window, batch: 1, length: 4, lastPositionOnly: true, context: context)
        let fast = Array(model.logits(position: 3))
        try model.forward(tokens: window, batch: 1, length: 4, context: context)
        expectClose(fast, Array(model.logits(position: 3)), absolute: 1e-6, relative: 1e-5, "last-position logits")
    }
}

import Foundation
