import ArgumentParser
import Foundation
import GPTGeneration
import GPTTokenizer

/// The sampling chain's flags.
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling temperature (0, or anything below 1e-6, is greedy).") var temperature: Float = 1.0
    @Option(parsing: .unconditional, help: "Sample only among the k most likely tokens (0: off).") var topK = 0
    @Option(parsing: .unconditional, help: "Nucleus: the smallest set of tokens with probability mass ≥ p (1: off).") var topP: Float = 1
    @Option(parsing: .unconditional, help: "Drop tokens less likely than min-p × the most likely one (0: off).") var minP: Float = 0
    @Option(parsing: .unconditional, help: "Locally typical sampling mass (1: off).") var typicalP: Float = 1
    @Option(parsing: .unconditional, help: "Penalise tokens seen in the penalty window (> 1 discourages repeats).") var repetitionPenalty: Float = 1
    @Option(parsing: .unconditional, help: "Subtract from the logit of every token seen in the window.") var presencePenalty: Float = 0
    @Option(parsing: .unconditional, help: "Subtract per occurrence in the window.") var frequencyPenalty: Float = 0
    @Option(parsing: .unconditional, help: "How many recent tokens the penalties look at.") var penaltyWindow = 64
    @Option(help: "TOKEN=BIAS added to a token id's logit (repeatable); BIAS may be -inf to ban it or inf to force it.")
    var logitBias: [String] = []
    @Option(help: "TEXT=BIAS added to the logit of the one token TEXT encodes to (repeatable; split at the last =).")
    var logitBiasText: [String] = []
    @Option(parsing: .unconditional, help: "Dynamic temperature: vary T by ± this range with the entropy (0: off).") var dynamicTemperature: Float = 0
    @Option(parsing: .unconditional, help: "Exponent of the dynamic temperature's entropy curve.") var dynamicTemperatureExponent: Float = 1
    @Option(parsing: .unconditional, help: "Temperature schedule: move linearly from --temperature to this over the generated tokens.")
    var finalTemperature: Float?
    @Option(help: "Order of the processors, comma-separated: penalties, top-k, typical-p, top-p, min-p, temperature.")
    var samplers = "penalties,top-k,typical-p,top-p,min-p,temperature"

    var parameters: SamplingParameters {
        get throws {
            var parameters = SamplingParameters()
            parameters.temperature = temperature
            parameters.topK = topK
            parameters.topP = topP
            parameters.minP = minP
            parameters.typicalP = typicalP
            parameters.repetitionPenalty = repetitionPenalty
            parameters.presencePenalty = presencePenalty
            parameters.frequencyPenalty = frequencyPenalty
            parameters.penaltyWindow = penaltyWindow
            parameters.dynamicTemperatureRange = dynamicTemperature
            parameters.dynamicTemperatureExponent = dynamicTemperatureExponent
            parameters.finalTemperature = finalTemperature
            parameters.order = try SamplingParameters.parseOrder(samplers)
            for entry in logitBias {
                guard let (text, bias) = Self.split(entry), let token = Int(text), token >= 0 else {
                    throw ValidationError("--logit-bias takes TOKEN=BIAS with an integer token id (got \(entry))")
                }
                parameters.logitBias[token] = bias
            }
            for entry in logitBiasText where Self.split(entry) == nil {
                throw ValidationError("--logit-bias-text takes TEXT=BIAS with a number or -inf after the last = (got \(entry))")
            }
            try parameters.validate()
            return parameters
        }
    }
}

extension SamplingOptions {
    /// `left=BIAS`, split at the last `=` (a token's text may contain one); BIAS is a number or -inf.
    static func split(_ entry: String) -> (String, Float)? {
        guard let equals = entry.lastIndex(of: "=") else { return nil }
        let value = entry[entry.index(after: equals)...]
        let bias: Float? = switch value {
        case "-inf": -.infinity
        case "inf", "+inf": .infinity
        default: Float(value)
        }
        guard let bias, !bias.isNaN else { return nil }
        return (String(entry[..<equals]), bias)
    }

    /// The parameters with `--logit-bias-text` resolved through the tokenizer, every biased token
    /// checked to be in the model's vocabulary.
    func parameters(tokenizer: any Tokenizer, vocabularySize: Int) throws -> SamplingParameters {
        var parameters = try self.parameters
        for entry in logitBiasText {
            guard let (text, bias) = Self.split(entry) else { continue }  // rejected by `parameters`
            let ids = try tokenizer.encode(text, specialTokens: .ordinary, threads: 1)
            guard ids.count == 1 else {
                let pieces = ids.map { "\($0) \(String(decoding: tokenizer.decodeBytes([$0]), as: UTF8.self).debugDescription)" }
                throw ValidationError(
                    "--logit-bias-text \(text.debugDescription) is \(ids.count) tokens, not one\(ids.isEmpty ? "" : " (\(pieces.joined(separator: ", ")))"); bias a single token's text, or each id with --logit-bias ID=BIAS")
            }
            parameters.logitBias[ids[0]] = bias
        }
        try FlagNames.translating { try parameters.validate(vocabularySize: vocabularySize) }
        return parameters
    }
}

/// Beam search flags.
struct BeamOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Beam search with this many beams (1: sampling).") var numBeams = 1
    @Option(parsing: .unconditional, help: "Beam score = log-probability ÷ length^this.") var lengthPenalty: Float = 1
    @Flag(help: "Stop as soon as --num-beams hypotheses have finished.") var earlyStopping = false
    @Option(parsing: .unconditional, help: "How many hypotheses to print, best first (default 1).") var numReturn: Int?

    func validate() throws {
        if numBeams < 1 { throw ValidationError("--num-beams must be at least 1 (got \(numBeams))") }
        if let numReturn, numReturn < 1 || numReturn > numBeams {
            throw ValidationError("--num-return must be between 1 and --num-beams (got \(numReturn))")
        }
    }
}

/// How `gpt sample` prints results.
enum SampleOutput {
    static func json(_ result: GenerationResult, tokenizer: any Tokenizer, includeLogprobs: Bool, stats: Bool) throws -> String {
        var object: [String: Any] = [
            "text": result.text, "tokens": result.tokens, "finish_reason": result.finishReason.rawValue,
        ]
        if includeLogprobs { object["logprobs"] = logprobsJSON(result.logprobs, tokenizer: tokenizer) }
        if stats { object["statistics"] = statistics(result) }
        return try JSONLine.encode(object)
    }

    static func statistics(_ result: GenerationResult) -> [String: Any] {
        let statistics = SampleStatistics(tokens: result.tokens, logprobs: result.logprobs.map(\.logprob))
        var object: [String: Any] = [
            "distinct_1": statistics.distinct1, "distinct_2": statistics.distinct2, "distinct_3": statistics.distinct3,
            "repeated_4gram_rate": statistics.repeated4gramRate, "tokens": result.tokens.count,
            "tokens_per_second": Double(result.tokens.count) / max(result.seconds, 1e-9),
        ]
        if let mean = statistics.meanLogprob { object["mean_logprob"] = mean }
        return object
    }

    static func printStatistics(_ result: GenerationResult) {
        let s = SampleStatistics(tokens: result.tokens, logprobs: result.logprobs.map(\.logprob))
        Terminal.notice(String(
            format: "\nstats: distinct-1 %.3f, distinct-2 %.3f, distinct-3 %.3f, repeated 4-grams %.3f, mean log-probability %@, %d tokens",
            s.distinct1, s.distinct2, s.distinct3, s.repeated4gramRate, s.meanLogprob.map { String(format: "%.3f", $0) } ?? "n/a",
            result.tokens.count))
    }

    /// `[{"token", "text", "logprob", "top": [{"token", "text", "logprob"}]}]`.
    static func logprobsJSON(_ logprobs: [TokenLogprob], tokenizer: any Tokenizer) -> [[String: Any]] {
        logprobs.map { entry in
            [
                "token": entry.token, "text": tokenizer.decode([entry.token]), "logprob": Double(entry.logprob),
                "top": entry.alternatives.map { ["token": $0.token, "text": tokenizer.decode([$0.token]), "logprob": Double($0.logprob)] },
            ]
        }
    }

    static func printLogprobs(_ result: GenerationResult, tokenizer: any Tokenizer) {
        printLogprobs(result.logprobs, tokenizer: tokenizer)
    }

    static func printLogprobs(_ logprobs: [TokenLogprob], tokenizer: any Tokenizer) {
        var lines = ["", "logprobs:"]
        for entry in logprobs {
            var line = String(format: "%@ %.4f", tokenizer.decode([entry.token]).debugDescription, entry.logprob)
            if !entry.alternatives.isEmpty {
                line += "  top: " + entry.alternatives.map {
                    String(format: "%@ %.4f", tokenizer.decode([$0.token]).debugDescription, $0.logprob)
                }.joined(separator: ", ")
            }
            lines.append(line)
        }
        Terminal.notice(lines.joined(separator: "\n"))
    }
}
