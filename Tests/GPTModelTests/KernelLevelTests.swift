import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Every instruction level this CPU runs computes the same model: training passes and cached decoding
/// at each level against the baseline build of the same kernels.
@Suite struct KernelLevelTests {
    @Test func aLevelAboveTheCPUsIsClampedAndTheBestIsTheDefault() {
        #expect(KernelContext(parallelism: Parallelism(threads: 1)).level == KernelLevel.best)
        #expect(KernelContext(parallelism: Parallelism(threads: 1), level: .avx512).level == min(.avx512, KernelLevel.best))
        #expect(KernelContext(parallelism: Parallelism(threads: 1), level: .baseline).level == .baseline)
        #expect(KernelLevel.supported.first == .baseline && KernelLevel.supported.last == KernelLevel.best)
        #expect(KernelLevel(name: "avx2") == .avx2 && KernelLevel(name: "sse") == nil)
    }

    @Test(arguments: KernelLevel.supported)
    func trainingAndDecodingAgreeWithTheBaseline(level: KernelLevel) throws {
        var generator = RandomGenerator(seed: 31)
        let configuration = GPTConfiguration(
            vocabularySize: 37, contextLength: 16, embeddingSize: 32, layerCount: 2, headCount: 4, dropout: 0.1)
        let model = try GPT(configuration: configuration, generator: &generator)
        let (B, T) = (3, 16)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 37)) }
        let targets = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 37)) }
        func run(_ level: KernelLevel) throws -> (loss: Float, gradients: [Float], decoded: [Float]) {
            let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
            let training = TrainingSession(model: model, context: context)
            let loss = try training.loss(tokens: tokens, targets: targets, batch: B, length: T, training: true, dropoutSeed: 5)
            try training.backward()
            let inference = InferenceSession(model: model, context: context)
            let cache = KVCache(configuration: configuration)
            var decoded = Array(try inference.forward(tokens: Array(tokens[0..<8]), count: 8, cache: cache))
            for token in tokens[8..<12] { decoded += try inference.forward(tokens: [token], count: 1, cache: cache) }
            return (loss, training.gradients.array, decoded)
        }
        let baseline = try run(.baseline)
        let ours = try run(level)
        #expect(abs(ours.loss - baseline.loss) < 1e-5 * max(1, abs(baseline.loss)), "\(level) loss")
        expectClose(ours.gradients, baseline.gradients, absolute: 1e-6, relative: 1e-3, "\(level) gradients")
        expectClose(ours.decoded, baseline.decoded, absolute: 1e-5, relative: 1e-4, "\(level) decoded logits")
    }
}
