import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Cached inference against full recomputation, for every architecture switch.
@Suite struct KVCacheTests {
    @Test(arguments: 0..<GradientCheckTests.switches.count)
    func cachedLogitsEqualFullRecomputationAtEveryStep(index: Int) throws {
        let (label, configuration) = GradientCheckTests.switches[index]
        var generator = Generator(seed: 3)
        let model = try GPTModel(configuration: configuration, generator: &generator)
        let context = KernelContext(parallelism: Parallelism(threads: 2))
        let tokens = (0..<configuration.contextLength).map { _ in Int32(generator.nextInt(below: configuration.vocabularySize)) }
        let cache = KVCache(configuration: configuration, batch: 1)
        // Prefill three tokens, then decode one at a time up to the full context.
        var cached = Array(try model.forward(tokens: Array(tokens[0..<3]), count: 3, cache: cache, context: context))
        for length in 3...tokens.count {
            try model.forward(tokens: Array(tokens[0..<length]), batch: 1, length: length, context: context)
            let full = Array(model.logits(position: length - 1))
            expectClose(cached, full, absolute: 1e-5, relative: 1e-4, "\(label) at length \(length)")
            if length < tokens.count {
                cached = Array(try model.forward(tokens: [tokens[length]], count: 1, cache: cache, context: context))
            }
        }
        #expect(throws: ModelError.self) { try model.forward(tokens: [1], count: 1, cache: cache, context: context) }
    }

    @Test func batchedRowsAndReorderingMatchSingleRows() throws {
        let configuration = GPTConfiguration(vocabularySize: 13, contextLength: 8, embeddingSize: 16, layers: 2, heads: 2)
        var generator = Generator(seed: 5)
        let model = try GPTModel(configuration: configuration, generator: &generator)
        let context = KernelContext(parallelism: Parallelism(threads: 2))
        let rows: [[Int32]] = [[1, 2, 3], [4, 5, 6]]
        let pair = KVCache(configuration: configuration, batch: 2)
        _ = try model.forward(tokens: rows[0] + rows[1], count: 3, cache: pair, context: context)
        pair.reorder([1, 1])  // both rows now continue the second sequence
        let both = Array(try model.forward(tokens: [7, 7], count: 1, cache: pair, context: context))
        let single = KVCache(configuration: configuration, batch: 1)
        _ = try model.forward(tokens: rows[1], count: 3, cache: single, context: context)
        let one = Array(try model.forward(tokens: [7], count: 1, cache: single, context: context))
        expectClose(Array(both[0..<13]), one, absolute: 1e-5, relative: 1e-4, "row 0")
        expectClose(Array(both[13..<26]), one, absolute: 1e-5, relative: 1e-4, "row 1")
    }
}
