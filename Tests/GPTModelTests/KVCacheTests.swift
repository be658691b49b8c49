import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Cached inference against full recomputation, for every architecture switch.
@Suite struct KVCacheTests {
    @Test(arguments: 0..<GradientCheckTests.switches.count)
    func cachedLogitsEqualFullRecomputationAtEveryStep(index: Int) throws {
        let (label, configuration) = GradientCheckTests.switches[index]
        var generator = RandomGenerator(seed: 3)
        let model = try GPT(configuration: configuration, generator: &generator)
        let full = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let tokens = (0..<configuration.contextLength).map { _ in Int32(generator.nextInt(below: configuration.vocabularySize)) }
        let cache = KVCache(configuration: configuration, batch: 1)
        // Prefill three tokens, then decode one at a time up to the full context.
        var cached = Array(try session.forward(tokens: Array(tokens[0..<3]), count: 3, cache: cache))
        for length in 3...tokens.count {
            try full.forward(tokens: Array(tokens[0..<length]), batch: 1, length: length)
            let expected = Array(full.logits(position: length - 1))
            expectClose(cached, expected, absolute: 1e-5, relative: 1e-4, "\(label) at length \(length)")
            if length < tokens.count {
                cached = Array(try session.forward(tokens: [tokens[length]], count: 1, cache: cache))
            }
        }
        #expect(throws: ModelError.self) { try session.forward(tokens: [1], count: 1, cache: cache) }
    }

    @Test(arguments: 0..<GradientCheckTests.switches.count)
    func everyPositionsLogitsAndLossesEqualTheTrainingForward(index: Int) throws {
        let (label, configuration) = GradientCheckTests.switches[index]
        var generator = RandomGenerator(seed: 8)
        let model = try GPT(configuration: configuration, generator: &generator)
        let (B, T) = (2, configuration.contextLength)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: configuration.vocabularySize)) }
        let targets = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: configuration.vocabularySize)) }
        let full = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        try full.forward(tokens: tokens, targets: targets, batch: B, length: T)
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let losses = Array(try session.negativeLogLikelihoods(tokens: tokens, targets: targets, batch: B, length: T))
        var expected: [Float] = []
        for b in 0..<B { for t in 0..<T { expected.append(full.loss(batchIndex: b, position: t)) } }
        expectClose(losses, expected, absolute: 1e-5, relative: 1e-4, "\(label) losses")
        let logits = Array(try session.forward(tokens: tokens, count: T, cache: KVCache(configuration: configuration, batch: B), positions: .all))
        expectClose(logits, Array(full.allLogits), absolute: 1e-5, relative: 1e-4, "\(label) logits")
        // Last-position-only logits equal the full pass's last row.
        try full.forward(tokens: tokens, batch: B, length: T, lastPositionOnly: true)
        let last = Array(try session.forward(tokens: tokens, count: T, cache: KVCache(configuration: configuration, batch: B)))
        for b in 0..<B {
            expectClose(Array(last[(b * configuration.vocabularySize)..<((b + 1) * configuration.vocabularySize)]),
                Array(full.logits(batchIndex: b, position: T - 1)), absolute: 1e-5, relative: 1e-4, "\(label) last row \(b)")
        }
    }

    @Test func batchedRowsAndReorderingMatchSingleRows() throws {
        let configuration = GPTConfiguration(vocabularySize: 13, contextLength: 8, embeddingSize: 16, layerCount: 2, headCount: 2)
        var generator = RandomGenerator(seed: 5)
        let model = try GPT(configuration: configuration, generator: &generator)
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let rows: [[Int32]] = [[1, 2, 3], [4, 5, 6]]
        let pair = KVCache(configuration: configuration, batch: 2)
        _ = try session.forward(tokens: rows[0] + rows[1], count: 3, cache: pair)
        pair.reorder([1, 1])  // both rows now continue the second sequence
        let both = Array(try session.forward(tokens: [7, 7], count: 1, cache: pair))
        let single = KVCache(configuration: configuration, batch: 1)
        _ = try session.forward(tokens: rows[1], count: 3, cache: single)
        let one = Array(try session.forward(tokens: [7], count: 1, cache: single))
        expectClose(Array(both[0..<13]), one, absolute: 1e-5, relative: 1e-4, "row 0")
        expectClose(Array(both[13..<26]), one, absolute: 1e-5, relative: 1e-4, "row 1")
    }
}
