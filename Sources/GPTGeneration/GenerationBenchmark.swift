import Foundation
import GPTModel
import GPTTensor

/// Measures cached generation: prefill tokens/s (against sgemm), decode tokens/s at given
/// positions, and the decode memory-bandwidth bound — bytes of weights and cache read per
/// token ÷ the machine's read bandwidth, measured in the same run.
public struct GenerationBenchmark: Sendable {
    public struct Decode: Sendable {
        public let position: Int
        public let tokensPerSecond: Double
        public let bytesPerToken: Double
        public let boundTokensPerSecond: Double
    }

    public struct Result: Sendable {
        public let parameters: Int
        public let promptTokens: Int
        public let prefillTokensPerSecond: Double
        public let prefillGigaflops: Double
        /// The ceilings probed before the prefill and after the decodes.
        public let ceilings: CeilingProbes
        public var sgemmGigaflops: Double { ceilings.best.sgemmGigaflops }
        public let sgemmShape: (Int, Int, Int)
        public var bandwidthGigabytes: Double { ceilings.best.bandwidthGigabytes }
        public let decodes: [Decode]
        /// Seconds per decoded token by operation, from a separate profiled run at the first position
        /// (clock reads around every operation; the timed runs above have none).
        public let breakdown: [(part: String, seconds: Double)]
    }

    public let configuration: GPTConfiguration
    /// The model to measure (nil: random Float32 weights of `configuration`; speed does not depend on them).
    public let model: GPT?
    public let parallelism: Parallelism
    /// The instruction level the C kernels run at (the bandwidth probe always runs at the best).
    public let kernelLevel: KernelLevel

    public init(configuration: GPTConfiguration, parallelism: Parallelism, kernelLevel: KernelLevel = .best) {
        self.configuration = configuration
        self.model = nil
        self.parallelism = parallelism
        self.kernelLevel = kernelLevel
    }

    /// Measures `model` as loaded (a quantized GGUF's matrices in their own type).
    public init(model: GPT, parallelism: Parallelism, kernelLevel: KernelLevel = .best) {
        configuration = model.configuration
        self.model = model
        self.parallelism = parallelism
        self.kernelLevel = kernelLevel
    }

    public func run(promptTokens: Int, positions: [Int], decodeSteps: Int = 16) throws -> Result {
        let c = configuration
        guard promptTokens >= 1, promptTokens <= c.contextLength else {
            throw GenerationError("the prompt length must be between 1 and the context length \(c.contextLength)")
        }
        for position in positions where position < 1 || position >= c.contextLength {
            throw GenerationError("decode position \(position) is outside 1 ..< the context length \(c.contextLength)")
        }
        // The ceilings, probed before and after (a VM's speed drifts); shares are of the better probe.
        // Prefill's largest product: the MLP's up-projection of the whole prompt.
        let shape = (promptTokens, c.embeddingSize, c.mlpSize)
        let before = MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism)
        var generator = RandomGenerator(seed: 7)
        let model = try self.model ?? GPT(configuration: c, generator: &generator)
        let session = InferenceSession(model: model, context: KernelContext(parallelism: parallelism, level: kernelLevel))
        let tokens = (0..<c.contextLength).map { _ in Int32(generator.nextInt(below: c.vocabularySize)) }

        // Prefill: the prompt in one pass (best of 3).
        var best = Double.infinity
        for _ in 0..<3 {
            let cache = KVCache(configuration: c)
            let start = monotonicSeconds()
            _ = try session.forward(tokens: Array(tokens[0..<promptTokens]), count: promptTokens, cache: cache)
            best = min(best, monotonicSeconds() - start)
        }
        let positionCount = c.position == .learned ? c.contextLength * c.embeddingSize : 0
        let matrixParameters = Double(model.parameterCount - positionCount - c.vocabularySize * c.embeddingSize)
        // Bytes read per decoded token besides the cache: every matrix once in its stored type, the
        // vectors, and one row each of the token embedding and the position table.
        let vectorBytes = model.layout.tensors.filter { $0.shape.count == 1 }.reduce(0) { $0 + $1.count * 4 }
        let weightBytes = Double(
            model.inferenceWeights.storageBytes + vectorBytes + model.inferenceWeights.tokenEmbedding.storageBytes / c.vocabularySize
                + (positionCount > 0 ? c.embeddingSize * 4 : 0))
        // 2 FLOPs per weight per token in the blocks, attention over the prompt, and the unembedding of one row.
        let prefillFlops = 2 * matrixParameters * Double(promptTokens)
            + 2 * Double(c.layerCount * c.embeddingSize * promptTokens * promptTokens)
            + 2 * Double(c.vocabularySize * c.embeddingSize)

        // Decode: fill the cache to each position, then time single-token steps.
        var decodes: [Decode] = []
        for position in positions {
            // Steps that fit after `position`; near the end of the context, refill and repeat.
            let run = min(decodeSteps, c.contextLength - position)
            var seconds = Double.infinity
            for _ in 0..<max(2, decodeSteps / run) {
                let cache = KVCache(configuration: c)
                _ = try session.forward(tokens: Array(tokens[0..<position]), count: position, cache: cache)
                let start = monotonicSeconds()
                for step in 0..<run {
                    _ = try session.forward(tokens: [tokens[position + step]], count: 1, cache: cache)
                }
                seconds = min(seconds, (monotonicSeconds() - start) / Double(run))
            }
            // The weights, plus the cache so far.
            let cacheBytes = Double(2 * c.layerCount * (position + run / 2) * c.embeddingSize * 4)
            let bytes = weightBytes + cacheBytes
            decodes.append(Decode(
                position: position, tokensPerSecond: 1 / seconds, bytesPerToken: bytes, boundTokensPerSecond: 0))
        }
        // Where a decoded token's time goes: the same steps again, profiled.
        var breakdown: [(part: String, seconds: Double)] = []
        if let position = positions.first {
            let run = min(decodeSteps, c.contextLength - position)
            let cache = KVCache(configuration: c)
            _ = try session.forward(tokens: Array(tokens[0..<position]), count: position, cache: cache)
            let profile = InferenceProfile()
            session.profile = profile
            for step in 0..<run { _ = try session.forward(tokens: [tokens[position + step]], count: 1, cache: cache) }
            session.profile = nil
            breakdown = InferenceProfile.Part.allCases.map { ($0.rawValue, (profile.seconds[$0] ?? 0) / Double(run)) }
        }
        let ceilings = CeilingProbes(before: before, after: MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism))
        let bandwidth = ceilings.best.bandwidthGigabytes
        decodes = decodes.map {
            Decode(position: $0.position, tokensPerSecond: $0.tokensPerSecond, bytesPerToken: $0.bytesPerToken,
                   boundTokensPerSecond: bandwidth * 1e9 / $0.bytesPerToken)
        }
        return Result(
            parameters: model.parameterCount, promptTokens: promptTokens,
            prefillTokensPerSecond: Double(promptTokens) / best, prefillGigaflops: prefillFlops / best / 1e9,
            ceilings: ceilings, sgemmShape: shape, decodes: decodes, breakdown: breakdown)
    }
}

