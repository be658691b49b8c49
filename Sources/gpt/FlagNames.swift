import ArgumentParser
import GPTTensor

/// How the command line spells the library settings that errors name (`SamplingParameters.topP` →
/// `--top-p`), so that a library error reads as a flag error here and as a field error elsewhere.
enum FlagNames {
    static let flags: [String: String] = [
        "SamplingParameters.temperature": "--temperature",
        "SamplingParameters.finalTemperature": "--final-temperature",
        "SamplingParameters.dynamicTemperatureRange": "--dynamic-temperature",
        "SamplingParameters.dynamicTemperatureExponent": "--dynamic-temperature-exponent",
        "SamplingParameters.topK": "--top-k",
        "SamplingParameters.topP": "--top-p",
        "SamplingParameters.minP": "--min-p",
        "SamplingParameters.typicalP": "--typical-p",
        "SamplingParameters.repetitionPenalty": "--repetition-penalty",
        "SamplingParameters.presencePenalty": "--presence-penalty",
        "SamplingParameters.frequencyPenalty": "--frequency-penalty",
        "SamplingParameters.penaltyWindow": "--penalty-window",
        "SamplingParameters.order": "--samplers",
        "SamplingParameters.logitBias": "--logit-bias",
        "GenerationOptions.maxTokens": "--max-tokens",
        "GenerationOptions.logprobs": "--logprobs",
        "GenerationOptions.stopSequences": "--stop",
        "BeamSearchOptions.beams": "--num-beams",
        "BeamSearchOptions.maxTokens": "--max-tokens",
        "BeamSearchOptions.lengthPenalty": "--length-penalty",
        "BeamSearchOptions.returnCount": "--num-return",
        "Distillation.temperature": "--temperature",
        "Distillation.alpha": "--alpha",
        "Freezing.layers": "--freeze-layers",
        "SequenceEvaluation.stride": "--stride",
        "TrainingConfiguration.preset": "--preset",
        "Word2VecSettings.dimensions": "--dimensions",
        "Word2VecSettings.window": "--window",
        "Word2VecSettings.negatives": "--negative",
        "Word2VecSettings.sample": "--sample",
        "Word2VecSettings.epochs": "--epochs",
        "Word2VecSettings.alpha": "--alpha",
        "Word2VecSettings.minAlpha": "--min-alpha",
        "TSNE.perplexity": "--perplexity",
        "GPTConfiguration.n_layer": "--layers",
        "GPTConfiguration.n_head": "--heads",
        "GPTConfiguration.n_embd": "--embedding-size",
        "GPTConfiguration.n_positions": "--context-length",
        "GPTConfiguration.vocab_size": "--vocab-size",
    ]

    /// The flag that sets `error`'s field, if the command line has one.
    static func flag(for error: InvalidValue) -> String? {
        if let flag = flags["\(error.owner).\(error.field)"] { return flag }
        // A training configuration's fields are named by their keys, which are the flag names.
        return error.owner == "TrainingConfiguration" ? "--" + error.field : nil
    }

    /// Runs `body` (a `validate()`), turning a library's `InvalidValue` into a usage error that names the flag.
    static func translating(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as InvalidValue {
            throw ValidationError(message(for: error))
        }
    }

    /// The error as the command line says it.
    static func message(for error: InvalidValue) -> String {
        flag(for: error).map { error.describe(field: $0) } ?? error.description
    }
}
