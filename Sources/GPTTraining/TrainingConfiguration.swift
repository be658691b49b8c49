import GPTModel
import GPTTensor

/// Everything a training run needs besides its data: the model's shape and switches and
/// the optimisation recipe. Resolved as defaults < preset < config file < flags; the keys
/// of a config file are the `gpt train` flag names (`"learning-rate": 1e-3`).
public struct TrainingConfiguration: Equatable, Sendable {
    // Model
    public var layers = 4
    public var heads = 4
    public var embeddingSize = 128
    public var contextLength = 64
    public var dropout: Float = 0
    public var bias = true
    public var position = PositionEncoding.learned
    public var normalization = Normalization.pre
    public var activation = Activation.gelu
    public var tieEmbeddings = true
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

    /// The defaults: GPT-2's architecture switches, sized for the embedded corpus.
    public init() {}

    public static let presetNames = ["shakespeare-char-cpu", "shakespeare-char"]

    /// A named preset; unknown names list the known ones.
    public static func preset(named name: String) throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        switch name {
        case "shakespeare-char-cpu":
            // nanoGPT's CPU "baby GPT" (README: train_shakespeare_char.py with CPU overrides).
            configuration.layers = 4
            configuration.heads = 4
            configuration.embeddingSize = 128
            configuration.contextLength = 64
            configuration.batchSize = 12
            configuration.maxIterations = 2000
            configuration.decayIterations = 2000
            configuration.evalInterval = 250
            configuration.evalIterations = 20
        case "shakespeare-char":
            // nanoGPT's config/train_shakespeare_char.py.
            configuration.layers = 6
            configuration.heads = 6
            configuration.embeddingSize = 384
            configuration.contextLength = 256
            configuration.batchSize = 64
            configuration.dropout = 0.2
            configuration.maxIterations = 5000
            configuration.decayIterations = 5000
            configuration.evalInterval = 250
            configuration.evalIterations = 200
        default:
            throw TrainingError("unknown preset '\(name)'; known presets: \(presetNames.joined(separator: ", "))")
        }
        configuration.bias = false
        configuration.learningRate = 1e-3
        configuration.minLearningRate = 1e-4
        configuration.warmupIterations = 100
        configuration.beta2 = 0.99
        configuration.weightDecay = 0.1
        configuration.gradientClip = 1.0
        return configuration
    }

    /// Every key a config file (or flag override) may set.
    public static let keys = [
        "layers", "heads", "embedding-size", "context-length", "dropout", "bias", "position", "norm", "activation",
        "tie-embeddings", "batch-size", "max-iters", "learning-rate", "min-learning-rate", "warmup-iters",
        "lr-decay-iters", "weight-decay", "beta1", "beta2", "grad-clip", "eval-interval", "eval-iters", "seed",
        "optimizer", "momentum", "nesterov", "schedule", "decay-fraction", "grad-accum", "checkpoint-interval",
    ]

    /// Sets `key` (a flag name) from a JSON-like value; `source` names where it came from in errors.
    public mutating func set(_ key: String, to value: Any, source: String) throws {
        func integer() throws -> Int {
            if let number = value as? Int { return number }
            if let number = value as? Double, number == number.rounded() { return Int(number) }
            throw TrainingError("\(source): \"\(key)\" must be an integer (got \(value))")
        }
        func real() throws -> Float {
            if let number = value as? Double { return Float(number) }
            if let number = value as? Int { return Float(number) }
            throw TrainingError("\(source): \"\(key)\" must be a number (got \(value))")
        }
        func boolean() throws -> Bool {
            if let flag = value as? Bool { return flag }
            throw TrainingError("\(source): \"\(key)\" must be true or false (got \(value))")
        }
        func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws -> T where T.RawValue == String {
            if let text = value as? String, let result = T(rawValue: text) { return result }
            let names = T.allCases.map(\.rawValue).joined(separator: "|")
            throw TrainingError("\(source): \"\(key)\" must be \(names) (got \(value))")
        }
        switch key {
        case "layers": layers = try integer()
        case "heads": heads = try integer()
        case "embedding-size": embeddingSize = try integer()
        case "context-length": contextLength = try integer()
        case "dropout": dropout = try real()
        case "bias": bias = try boolean()
        case "position": position = try choice(PositionEncoding.self)
        case "norm": normalization = try choice(Normalization.self)
        case "activation": activation = try choice(Activation.self)
        case "tie-embeddings": tieEmbeddings = try boolean()
        case "batch-size": batchSize = try integer()
        case "max-iters": maxIterations = try integer()
        case "learning-rate": learningRate = try real()
        case "min-learning-rate": minLearningRate = try real()
        case "warmup-iters": warmupIterations = try integer()
        case "lr-decay-iters": decayIterations = try integer()
        case "weight-decay": weightDecay = try real()
        case "beta1": beta1 = try real()
        case "beta2": beta2 = try real()
        case "grad-clip": gradientClip = try real()
        case "eval-interval": evalInterval = try integer()
        case "eval-iters": evalIterations = try integer()
        case "optimizer": optimizer = try choice(OptimizerKind.self)
        case "momentum": momentum = try real()
        case "nesterov": nesterov = try boolean()
        case "schedule": schedule = try choice(ScheduleKind.self)
        case "decay-fraction": decayFraction = try real()
        case "grad-accum": gradientAccumulation = try integer()
        case "checkpoint-interval": checkpointInterval = try integer()
        case "seed":
            let number = try integer()
            guard number >= 0 else { throw TrainingError("\(source): \"seed\" must be non-negative") }
            seed = UInt64(number)
        default:
            throw TrainingError("\(source): unknown key \"\(key)\"; known keys: \(Self.keys.joined(separator: ", "))")
        }
    }

    /// Rejects values no run can use, naming the flag.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw TrainingError(message) }
        }
        try require(layers > 0, "--layers must be at least 1 (got \(layers))")
        try require(heads > 0, "--heads must be at least 1 (got \(heads))")
        try require(embeddingSize > 0, "--embedding-size must be at least 1 (got \(embeddingSize))")
        try require(
            embeddingSize % heads == 0,
            "--embedding-size \(embeddingSize) must be divisible by --heads \(heads)")
        try require(contextLength > 0, "--context-length must be at least 1 (got \(contextLength))")
        try require(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1) (got \(dropout))")
        try require(batchSize > 0, "--batch-size must be at least 1 (got \(batchSize))")
        try require(maxIterations > 0, "--max-iters must be at least 1 (got \(maxIterations))")
        try require(learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive (got \(learningRate))")
        try require(
            minLearningRate >= 0 && minLearningRate <= learningRate,
            "--min-learning-rate must be between 0 and --learning-rate (got \(minLearningRate))")
        try require(warmupIterations >= 0, "--warmup-iters must be non-negative (got \(warmupIterations))")
        try require(decayIterations >= 0, "--lr-decay-iters must be non-negative (got \(decayIterations))")
        try require(weightDecay >= 0, "--weight-decay must be non-negative (got \(weightDecay))")
        try require(beta1 >= 0 && beta1 < 1, "--beta1 must be in [0, 1) (got \(beta1))")
        try require(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1) (got \(beta2))")
        try require(gradientClip >= 0, "--grad-clip must be non-negative (0 disables clipping; got \(gradientClip))")
        try require(evalInterval > 0, "--eval-interval must be at least 1 (got \(evalInterval))")
        try require(evalIterations > 0, "--eval-iters must be at least 1 (got \(evalIterations))")
        try require(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got \(momentum))")
        try require(!nesterov || (optimizer == .sgd && momentum > 0), "--nesterov needs --optimizer sgd with --momentum > 0")
        try require(decayFraction > 0 && decayFraction <= 1, "--decay-fraction must be in (0, 1] (got \(decayFraction))")
        try require(gradientAccumulation >= 1, "--grad-accum must be at least 1 (got \(gradientAccumulation))")
        try require(checkpointInterval >= 0, "--checkpoint-interval must be non-negative (got \(checkpointInterval))")
    }

    /// The model configuration for a vocabulary of `vocabularySize` tokens.
    public func modelConfiguration(vocabularySize: Int) -> GPTConfiguration {
        GPTConfiguration(
            vocabularySize: vocabularySize, contextLength: contextLength, embeddingSize: embeddingSize, layers: layers,
            heads: heads, dropout: dropout, bias: bias, position: position, normalization: normalization,
            activation: activation, tieEmbeddings: tieEmbeddings)
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

    /// Every setting by its flag name, as a config file would hold it (saved for exact resume).
    public var dictionary: [String: Any] {
        [
            "layers": layers, "heads": heads, "embedding-size": embeddingSize, "context-length": contextLength,
            "dropout": Double(dropout), "bias": bias, "position": position.rawValue, "norm": normalization.rawValue,
            "activation": activation.rawValue, "tie-embeddings": tieEmbeddings, "batch-size": batchSize,
            "max-iters": maxIterations, "learning-rate": Double(learningRate), "min-learning-rate": Double(minLearningRate),
            "warmup-iters": warmupIterations, "lr-decay-iters": decayIterations, "weight-decay": Double(weightDecay),
            "beta1": Double(beta1), "beta2": Double(beta2), "grad-clip": Double(gradientClip), "eval-interval": evalInterval,
            "eval-iters": evalIterations, "seed": Int(seed), "optimizer": optimizer.rawValue, "momentum": Double(momentum),
            "nesterov": nesterov, "schedule": schedule.rawValue, "decay-fraction": Double(decayFraction),
            "grad-accum": gradientAccumulation, "checkpoint-interval": checkpointInterval,
        ]
    }
}
