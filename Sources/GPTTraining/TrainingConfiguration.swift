import GPTModel
import GPTTensor

/// Everything a training run needs besides its data: the model's shape and switches and
/// the optimisation recipe. Resolved as defaults < preset < config file < flags; the keys
/// of a config file are the `gpt train` flag names (`"learning-rate": 1e-3`, see `CodingKeys`
/// and `TrainingConfiguration+File.swift`).
public struct TrainingConfiguration: Equatable, Sendable, Codable {
    // Model
    public var layerCount = 4
    public var headCount = 4
    public var embeddingSize = 128
    public var contextLength = 64
    public var dropout: Float = 0
    public var usesBias = true
    public var position = PositionEncoding.learned
    public var normalization = Normalization.pre
    public var activation = Activation.gelu
    public var tiesEmbeddings = true
    // Optimisation
    public var batchSize = 12
    public var maxIterations = 1000
    public var learningRate: Float = 1e-3
    public var minLearningRate: Float = 1e-4
    public var warmupIterations = 50
    public var decayIterations = 1000
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var gradientClip: Float = 1.0
    public var evalInterval = 100
    public var evalIterations = 20
    public var seed: UInt64 = 1337
    public var optimizer = OptimizerKind.adamw
    /// SGD's momentum.
    public var momentum: Float = 0.9
    public var nesterov = false
    public var schedule = ScheduleKind.cosine
    /// For the `wsd` schedule: the share of the horizon spent decaying.
    public var decayFraction: Float = 0.2
    /// Micro-batches whose gradients add up to one step (the effective batch is batchSize × this).
    public var gradientAccumulation = 1
    /// Checkpoint for exact resume every N steps (0: only at evaluations and at the end).
    public var checkpointInterval = 0
    /// The linear layers' products: fp32, or bf16 inputs with fp32 sums (mixed precision; falls back
    /// to fp32 with a notice where the CPU lacks AVX512-BF16).
    public var precision = Precision.fp32

    /// The defaults: GPT-2's architecture switches, sized for the embedded corpus.
    public init() {}

    public static let presetNames = ["shakespeare-char-cpu", "shakespeare-char"]

    /// A named preset; unknown names list the known ones.
    public static func preset(named name: String) throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        switch name {
        case "shakespeare-char-cpu":
            // nanoGPT's CPU "baby GPT" (README: train_shakespeare_char.py with CPU overrides).
            configuration.layerCount = 4
            configuration.headCount = 4
            configuration.embeddingSize = 128
            configuration.contextLength = 64
            configuration.batchSize = 12
            configuration.maxIterations = 2000
            configuration.decayIterations = 2000
            configuration.evalInterval = 250
            configuration.evalIterations = 20
        case "shakespeare-char":
            // nanoGPT's config/train_shakespeare_char.py.
            configuration.layerCount = 6
            configuration.headCount = 6
            configuration.embeddingSize = 384
            configuration.contextLength = 256
            configuration.batchSize = 64
            configuration.dropout = 0.2
            configuration.maxIterations = 5000
            configuration.decayIterations = 5000
            configuration.evalInterval = 250
            configuration.evalIterations = 200
        default:
            throw InvalidValue(
                owner: "TrainingConfiguration", field: "preset", rule: "names an unknown preset; known: \(presetNames.joined(separator: ", "))",
                value: name)
        }
        configuration.usesBias = false
        configuration.learningRate = 1e-3
        configuration.minLearningRate = 1e-4
        configuration.warmupIterations = 100
        configuration.beta2 = 0.99
        configuration.weightDecay = 0.1
        configuration.gradientClip = 1.0
        return configuration
    }

    /// The keys of a config file and of a checkpoint's `training.json`: the `gpt train` flag names.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case layerCount = "layers", headCount = "heads", embeddingSize = "embedding-size", contextLength = "context-length", dropout, usesBias = "bias", position
        case normalization = "norm", activation, tiesEmbeddings = "tie-embeddings", batchSize = "batch-size"
        case maxIterations = "max-iters", learningRate = "learning-rate", minLearningRate = "min-learning-rate"
        case warmupIterations = "warmup-iters", decayIterations = "lr-decay-iters", weightDecay = "weight-decay"
        case beta1, beta2, gradientClip = "grad-clip", evalInterval = "eval-interval", evalIterations = "eval-iters"
        case seed, optimizer, momentum, nesterov, schedule, decayFraction = "decay-fraction"
        case gradientAccumulation = "grad-accum", checkpointInterval = "checkpoint-interval", precision
    }

    /// Rejects values no run can use; `InvalidValue` names the field by its key (the flag name).
    public func validate() throws {
        let validator = Validator(owner: "TrainingConfiguration")
        func require(_ condition: Bool, _ key: CodingKeys, _ rule: String, _ value: (any Sendable)? = nil) throws {
            try validator.require(condition, key.rawValue, rule, value)
        }
        try require(layerCount > 0, .layerCount, "must be at least 1", layerCount)
        try require(headCount > 0, .headCount, "must be at least 1", headCount)
        try require(embeddingSize > 0, .embeddingSize, "must be at least 1", embeddingSize)
        try require(embeddingSize % headCount == 0, .embeddingSize, "must be divisible by the number of heads \(headCount)", embeddingSize)
        try require(contextLength > 0, .contextLength, "must be at least 1", contextLength)
        try require(dropout >= 0 && dropout < 1, .dropout, "must be in [0, 1)", dropout)
        try require(batchSize > 0, .batchSize, "must be at least 1", batchSize)
        try require(maxIterations > 0, .maxIterations, "must be at least 1", maxIterations)
        try require(learningRate > 0 && learningRate.isFinite, .learningRate, "must be positive", learningRate)
        try require(
            minLearningRate >= 0 && minLearningRate <= learningRate, .minLearningRate, "must be between 0 and the learning rate",
            minLearningRate)
        try require(warmupIterations >= 0, .warmupIterations, "must be non-negative", warmupIterations)
        try require(decayIterations >= 0, .decayIterations, "must be non-negative", decayIterations)
        try require(weightDecay >= 0 && weightDecay.isFinite, .weightDecay, "must be non-negative", weightDecay)
        try require(beta1 >= 0 && beta1 < 1, .beta1, "must be in [0, 1)", beta1)
        try require(beta2 >= 0 && beta2 < 1, .beta2, "must be in [0, 1)", beta2)
        try require(gradientClip >= 0 && gradientClip.isFinite, .gradientClip, "must be non-negative (0 disables clipping)", gradientClip)
        try require(evalInterval > 0, .evalInterval, "must be at least 1", evalInterval)
        try require(evalIterations > 0, .evalIterations, "must be at least 1", evalIterations)
        try require(momentum >= 0 && momentum < 1, .momentum, "must be in [0, 1)", momentum)
        try require(!nesterov || (optimizer == .sgd && momentum > 0), .nesterov, "needs the sgd optimizer with momentum > 0")
        try require(decayFraction > 0 && decayFraction <= 1, .decayFraction, "must be in (0, 1]", decayFraction)
        try require(
            gradientAccumulation >= 1 && gradientAccumulation <= 65_536, .gradientAccumulation, "must be between 1 and 65536",
            gradientAccumulation)
        try require(checkpointInterval >= 0, .checkpointInterval, "must be non-negative", checkpointInterval)
    }

    /// The model configuration for a vocabulary of `vocabularySize` tokens.
    public func modelConfiguration(vocabularySize: Int) -> GPTConfiguration {
        GPTConfiguration(
            vocabularySize: vocabularySize, contextLength: contextLength, embeddingSize: embeddingSize, layerCount: layerCount,
            headCount: headCount, dropout: dropout, usesBias: usesBias, position: position, normalization: normalization,
            activation: activation, tiesEmbeddings: tiesEmbeddings)
    }

    public var learningRateSchedule: LearningRateSchedule {
        LearningRateSchedule(
            kind: schedule, maximum: learningRate, minimum: minLearningRate, warmupIterations: warmupIterations,
            decayIterations: decayIterations, decayFraction: decayFraction)
    }

    public var optimizerSettings: OptimizerSettings {
        OptimizerSettings(
            kind: optimizer, beta1: beta1, beta2: beta2, epsilon: 1e-8, weightDecay: weightDecay, momentum: momentum,
            nesterov: nesterov)
    }
}
