import ArgumentParser
import Foundation
import GPTModel
import GPTTraining

/// The defaults `--help` shows (a preset or config file replaces them).
private let standard = TrainingConfiguration()

/// Model shape and architecture switches (each overrides the preset and config file).
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Transformer blocks (default \(standard.layerCount)).") var layers: Int?
    @Option(parsing: .unconditional, help: "Attention heads per block (default \(standard.headCount)).") var heads: Int?
    @Option(parsing: .unconditional, help: "Embedding (channel) size; divisible by --heads (default \(standard.embeddingSize)).") var embeddingSize: Int?
    @Option(parsing: .unconditional, help: "Context length: tokens the model sees at once (default \(standard.contextLength)).") var contextLength: Int?
    @Option(parsing: .unconditional, help: "Dropout rate for embeddings, attention and residuals (default \(standard.dropout)).") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "Biases in linear layers and LayerNorms.") var bias: Bool?
    @Option(help: "Positional encoding: learned | sinusoidal.") var position: PositionEncoding?
    @Option(help: "LayerNorm placement: pre (GPT-2) | post (original transformer).") var norm: Normalization?
    @Option(help: "MLP activation: gelu (tanh approximation) | relu.") var activation: Activation?
    @Flag(inversion: .prefixedNo, help: "Tie the unembedding to the token embedding.") var tieEmbeddings: Bool?

    /// Sets the fields these flags name.
    func apply(to configuration: inout TrainingConfiguration) {
        if let layers { configuration.layerCount = layers }
        if let heads { configuration.headCount = heads }
        if let embeddingSize { configuration.embeddingSize = embeddingSize }
        if let contextLength { configuration.contextLength = contextLength }
        if let dropout { configuration.dropout = dropout }
        if let bias { configuration.usesBias = bias }
        if let position { configuration.position = position }
        if let norm { configuration.normalization = norm }
        if let activation { configuration.activation = activation }
        if let tieEmbeddings { configuration.tiesEmbeddings = tieEmbeddings }
    }

    /// The flags given (for `--resume`, which takes none).
    var given: [String] {
        [("layers", layers != nil), ("heads", heads != nil), ("embedding-size", embeddingSize != nil),
         ("context-length", contextLength != nil), ("dropout", dropout != nil), ("bias", bias != nil),
         ("position", position != nil), ("norm", norm != nil), ("activation", activation != nil),
         ("tie-embeddings", tieEmbeddings != nil)].filter(\.1).map(\.0)
    }
}

/// The optimisation recipe.
struct TrainingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sequences per step (default \(standard.batchSize)).") var batchSize: Int?
    @Option(name: .customLong("max-iters"), parsing: .unconditional, help: "Optimisation steps (default \(standard.maxIterations)).") var maxIterations: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (default \(standard.learningRate)).") var learningRate: Float?
    @Option(parsing: .unconditional, help: "Learning rate at the end of the decay (default \(standard.minLearningRate)).") var minLearningRate: Float?
    @Option(name: .customLong("warmup-iters"), parsing: .unconditional, help: "Linear warmup steps (default \(standard.warmupIterations)).") var warmupIterations: Int?
    @Option(name: .customLong("lr-decay-iters"), parsing: .unconditional, help: "Step at which the decay reaches the minimum (default: --max-iters).")
    var decayIterations: Int?
    @Option(help: "Optimizer: sgd | rmsprop | adam | adamw (default adamw).") var optimizer: OptimizerKind?
    @Option(parsing: .unconditional, help: "Weight decay, matrices only; decoupled for adamw, added to the gradient otherwise (default \(standard.weightDecay)).") var weightDecay: Float?
    @Option(parsing: .unconditional, help: "Adam/AdamW beta1 (default \(standard.beta1)).") var beta1: Float?
    @Option(parsing: .unconditional, help: "Adam/AdamW beta2; RMSprop's smoothing constant α (default \(standard.beta2)).") var beta2: Float?
    @Option(parsing: .unconditional, help: "SGD momentum (0: plain SGD).") var momentum: Float?
    @Flag(help: "SGD with Nesterov momentum.") var nesterov = false
    @Option(help: "Learning-rate schedule after warmup: constant | linear | cosine | wsd (default cosine).") var schedule: ScheduleKind?
    @Option(parsing: .unconditional, help: "wsd: the share of the horizon spent decaying (default 0.2).") var decayFraction: Float?
    @Option(name: .customLong("grad-accum"), parsing: .unconditional, help: "Micro-batches accumulated into one step: effective batch = batch × N (default 1).")
    var gradientAccumulation: Int?
    @Option(parsing: .unconditional, help: "Also checkpoint every N steps for exact resume (default: at evaluations only).") var checkpointInterval: Int?
    @Option(parsing: .unconditional, help: "Clip the global gradient norm to this; 0 disables (default \(standard.gradientClip)).") var gradClip: Float?
    @Option(parsing: .unconditional, help: "Evaluate (and save) every N steps (default \(standard.evalInterval)).") var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), parsing: .unconditional, help: "Batches per split in each evaluation (default \(standard.evalIterations)).") var evalIterations: Int?
    @Option(parsing: .unconditional, help: "Random seed for initialisation, batches and dropout (default \(standard.seed)).") var seed: UInt64?
    @Option(help: "Linear layers' products: fp32 | bf16 (bf16 inputs, fp32 sums; needs AVX512-BF16, else fp32 with a notice).")
    var precision: Precision?

    /// Sets the fields these flags name.
    func apply(to configuration: inout TrainingConfiguration) {
        if let batchSize { configuration.batchSize = batchSize }
        if let maxIterations { configuration.maxIterations = maxIterations }
        if let learningRate { configuration.learningRate = learningRate }
        if let minLearningRate { configuration.minLearningRate = minLearningRate }
        if let warmupIterations { configuration.warmupIterations = warmupIterations }
        if let decayIterations { configuration.decayIterations = decayIterations }
        if let weightDecay { configuration.weightDecay = weightDecay }
        if let beta1 { configuration.beta1 = beta1 }
        if let beta2 { configuration.beta2 = beta2 }
        if let gradClip { configuration.gradientClip = gradClip }
        if let evalInterval { configuration.evalInterval = evalInterval }
        if let evalIterations { configuration.evalIterations = evalIterations }
        if let seed { configuration.seed = seed }
        if let optimizer { configuration.optimizer = optimizer }
        if let momentum { configuration.momentum = momentum }
        if nesterov { configuration.nesterov = true }
        if let schedule { configuration.schedule = schedule }
        if let decayFraction { configuration.decayFraction = decayFraction }
        if let gradientAccumulation { configuration.gradientAccumulation = gradientAccumulation }
        if let checkpointInterval { configuration.checkpointInterval = checkpointInterval }
        if let precision { configuration.precision = precision }
    }

    /// The flags given (for `--resume`, which takes none but `--max-iters`).
    var given: [String] {
        [("batch-size", batchSize != nil), ("max-iters", maxIterations != nil), ("learning-rate", learningRate != nil),
         ("min-learning-rate", minLearningRate != nil), ("warmup-iters", warmupIterations != nil),
         ("lr-decay-iters", decayIterations != nil), ("weight-decay", weightDecay != nil), ("beta1", beta1 != nil),
         ("beta2", beta2 != nil), ("grad-clip", gradClip != nil), ("eval-interval", evalInterval != nil),
         ("eval-iters", evalIterations != nil), ("seed", seed != nil), ("optimizer", optimizer != nil),
         ("momentum", momentum != nil), ("nesterov", nesterov), ("schedule", schedule != nil),
         ("decay-fraction", decayFraction != nil), ("grad-accum", gradientAccumulation != nil),
         ("checkpoint-interval", checkpointInterval != nil), ("precision", precision != nil)].filter(\.1).map(\.0)
    }
}

/// `--preset` and `--config`, resolved with the flags: defaults < preset < config file < flags.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Start from a named preset (its values replace the defaults shown here): \(TrainingConfiguration.presetNames.joined(separator: ", ")).")
    var preset: String?
    @Option(help: "A JSON file of settings keyed by flag name, e.g. {\"layers\": 6, \"learning-rate\": 0.0006}.")
    var config: String?

    func resolve(model: ModelOptions, training: TrainingOptions) throws -> TrainingConfiguration {
        var configuration = try preset.map { try TrainingConfiguration.preset(named: $0) } ?? TrainingConfiguration()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw ValidationError("config file \(config) not found or unreadable")
            }
            configuration = try TrainingConfiguration.decode(data, over: configuration, source: config)
        }
        model.apply(to: &configuration)
        training.apply(to: &configuration)
        // A shorter or longer run without an explicit decay horizon decays over the whole run.
        if training.maxIterations != nil && training.decayIterations == nil
            && configuration.decayIterations > configuration.maxIterations
        {
            configuration.decayIterations = configuration.maxIterations
        }
        try configuration.validate()
        return configuration
    }
}

extension PositionEncoding: ExpressibleByArgument {}
extension Normalization: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

/// `--threads N` (default: all cores; at most 4 × the cores, above which threads only wait for each other).
struct ThreadOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Compute threads (default: all cores; at most 4 × the cores).") var threads: Int?

    static var limit: Int { 4 * ProcessInfo.processInfo.activeProcessorCount }

    mutating func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let threads, threads > Self.limit {
            Terminal.notice(
                "note: --threads \(threads) is capped at \(Self.limit) (4 × this machine's \(ProcessInfo.processInfo.activeProcessorCount) cores); more threads only wait for each other")
            self.threads = Self.limit
        }
    }

    /// The thread count asked for, or every core (shared out between the ranks mpirun started on this machine).
    var count: Int { threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / Communicator.localSize) }

    var parallelism: Parallelism { Parallelism(threads: count) }
}

import GPTTensor
