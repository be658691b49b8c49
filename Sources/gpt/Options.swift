import ArgumentParser
import Foundation
import GPTModel
import GPTTraining

/// Model shape and architecture switches (each overrides the preset and config file).
struct ModelOptions: ParsableArguments {
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(help: "Attention heads per block.") var heads: Int?
    @Option(help: "Embedding (channel) size; divisible by --heads.") var embeddingSize: Int?
    @Option(help: "Context length (tokens the model sees at once).") var contextLength: Int?
    @Option(help: "Dropout rate for embeddings, attention and residuals.") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "Biases in linear layers and LayerNorms.") var bias: Bool?
    @Option(help: "Positional encoding: learned | sinusoidal.") var position: PositionEncoding?
    @Option(help: "LayerNorm placement: pre (GPT-2) | post (original transformer).") var norm: Normalization?
    @Option(help: "MLP activation: gelu (tanh approximation) | relu.") var activation: Activation?
    @Flag(inversion: .prefixedNo, help: "Tie the unembedding to the token embedding.") var tieEmbeddings: Bool?

    var overrides: [(String, Any)] {
        var list: [(String, Any)] = []
        if let layers { list.append(("layers", layers)) }
        if let heads { list.append(("heads", heads)) }
        if let embeddingSize { list.append(("embedding-size", embeddingSize)) }
        if let contextLength { list.append(("context-length", contextLength)) }
        if let dropout { list.append(("dropout", Double(dropout))) }
        if let bias { list.append(("bias", bias)) }
        if let position { list.append(("position", position.rawValue)) }
        if let norm { list.append(("norm", norm.rawValue)) }
        if let activation { list.append(("activation", activation.rawValue)) }
        if let tieEmbeddings { list.append(("tie-embeddings", tieEmbeddings)) }
        return list
    }
}

/// The optimisation recipe.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Sequences per step.") var batchSize: Int?
    @Option(name: .customLong("max-iters"), help: "Optimisation steps.") var maxIterations: Int?
    @Option(help: "Peak learning rate.") var learningRate: Float?
    @Option(help: "Learning rate at the end of the cosine decay.") var minLearningRate: Float?
    @Option(name: .customLong("warmup-iters"), help: "Linear warmup steps.") var warmupIterations: Int?
    @Option(name: .customLong("lr-decay-iters"), help: "Step at which the cosine decay reaches the minimum.")
    var decayIterations: Int?
    @Option(help: "Optimizer: sgd | rmsprop | adam | adamw (default adamw).") var optimizer: OptimizerKind?
    @Option(help: "Weight decay (matrices only; decoupled for adamw, added to the gradient otherwise).") var weightDecay: Float?
    @Option(help: "Adam/AdamW beta1.") var beta1: Float?
    @Option(help: "Adam/AdamW beta2; RMSprop's smoothing constant α.") var beta2: Float?
    @Option(help: "SGD momentum (0: plain SGD).") var momentum: Float?
    @Flag(help: "SGD with Nesterov momentum.") var nesterov = false
    @Option(help: "Learning-rate schedule after warmup: constant | linear | cosine | wsd (default cosine).") var schedule: ScheduleKind?
    @Option(help: "wsd: the share of the horizon spent decaying (default 0.2).") var decayFraction: Float?
    @Option(name: .customLong("grad-accum"), help: "Micro-batches accumulated into one step (effective batch = batch × N).")
    var gradientAccumulation: Int?
    @Option(help: "Also checkpoint every N steps for exact resume (default: at evaluations only).") var checkpointInterval: Int?
    @Option(help: "Clip the global gradient norm to this (0 disables).") var gradClip: Float?
    @Option(help: "Evaluate (and save) every N steps.") var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), help: "Batches per split in each evaluation.") var evalIterations: Int?
    @Option(help: "Random seed (initialisation, batches, dropout).") var seed: UInt64?

    var overrides: [(String, Any)] {
        var list: [(String, Any)] = []
        if let batchSize { list.append(("batch-size", batchSize)) }
        if let maxIterations { list.append(("max-iters", maxIterations)) }
        if let learningRate { list.append(("learning-rate", Double(learningRate))) }
        if let minLearningRate { list.append(("min-learning-rate", Double(minLearningRate))) }
        if let warmupIterations { list.append(("warmup-iters", warmupIterations)) }
        if let decayIterations { list.append(("lr-decay-iters", decayIterations)) }
        if let weightDecay { list.append(("weight-decay", Double(weightDecay))) }
        if let beta1 { list.append(("beta1", Double(beta1))) }
        if let beta2 { list.append(("beta2", Double(beta2))) }
        if let gradClip { list.append(("grad-clip", Double(gradClip))) }
        if let evalInterval { list.append(("eval-interval", evalInterval)) }
        if let evalIterations { list.append(("eval-iters", evalIterations)) }
        if let seed { list.append(("seed", Int(seed))) }
        if let optimizer { list.append(("optimizer", optimizer.rawValue)) }
        if let momentum { list.append(("momentum", Double(momentum))) }
        if nesterov { list.append(("nesterov", true)) }
        if let schedule { list.append(("schedule", schedule.rawValue)) }
        if let decayFraction { list.append(("decay-fraction", Double(decayFraction))) }
        if let gradientAccumulation { list.append(("grad-accum", gradientAccumulation)) }
        if let checkpointInterval { list.append(("checkpoint-interval", checkpointInterval)) }
        return list
    }
}

/// `--preset` and `--config`, resolved with the flags: defaults < preset < config file < flags.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Start from a named preset: \(TrainingConfiguration.presetNames.joined(separator: ", ")).")
    var preset: String?
    @Option(help: "A JSON file of settings keyed by flag name, e.g. {\"layers\": 6, \"learning-rate\": 0.0006}.")
    var config: String?

    func resolve(model: ModelOptions, training: TrainingOptions) throws -> TrainingConfiguration {
        var configuration = try preset.map { try TrainingConfiguration.preset(named: $0) } ?? TrainingConfiguration()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw ValidationError("config file \(config) not found or unreadable")
            }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("config file \(config) is not a JSON object")
            }
            for key in object.keys.sorted() {
                try configuration.set(key, to: Self.plain(object[key]!), source: config)
            }
        }
        let explicitDecay = training.decayIterations != nil
        for (key, value) in model.overrides + training.overrides {
            try configuration.set(key, to: value, source: "--\(key)")
        }
        // A shorter or longer run without an explicit decay horizon decays over the whole run.
        if training.maxIterations != nil && !explicitDecay && configuration.decayIterations > configuration.maxIterations {
            configuration.decayIterations = configuration.maxIterations
        }
        try configuration.validate()
        return configuration
    }

    /// JSON numbers arrive as NSNumber; turn them into Bool, Int or Double.
    static func plain(_ value: Any) -> Any {
        guard let number = value as? NSNumber else { return value }
        if String(describing: type(of: value)).contains("Boolean") { return number.boolValue }
        let double = number.doubleValue
        if double == double.rounded() && abs(double) < 1e15 { return Int(double) }
        return double
    }
}

extension PositionEncoding: ExpressibleByArgument {}
extension Normalization: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}

/// `--threads N` (default: all cores).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    /// The thread count asked for, or every core.
    var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    var parallelism: Parallelism { Parallelism(threads: count) }
}

import GPTTensor
