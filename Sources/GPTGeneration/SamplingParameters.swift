import GPTTensor

/// One stage of the sampling chain, by its command-line name.
public enum SamplerStage: String, CaseIterable, Sendable {
    case penalties
    case topK = "top-k"
    case typicalP = "typical-p"
    case topP = "top-p"
    case minP = "min-p"
    case temperature
}

/// How logits become the next token. Logit bias is applied first; then the stages run in
/// `order` (default, as llama.cpp: penalties → top-k → typical-p → top-p → min-p →
/// temperature); then a token is drawn from the softmax of what is left. A temperature of 0
/// is greedy: the largest logit after bias and penalties.
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 1
    /// Dynamic temperature: T varies within [temperature − range, temperature + range] with the
    /// normalised entropy of the candidates (llama.cpp's dynatemp): T = min + (max − min)·(H/Hmax)^exponent.
    public var dynamicTemperatureRange: Float = 0
    public var dynamicTemperatureExponent: Float = 1
    /// Temperature schedule: when set, T moves linearly from `temperature` at the first generated
    /// token to this value at the last (`maxTokens`).
    public var finalTemperature: Float?
    public var topK = 0
    public var topP: Float = 1
    public var minP: Float = 0
    public var typicalP: Float = 1
    /// > 1 discourages tokens seen in the last `penaltyWindow` tokens (positive logits divided, negative multiplied).
    public var repetitionPenalty: Float = 1
    /// Subtracted once from the logit of every token seen in the window.
    public var presencePenalty: Float = 0
    /// Subtracted per occurrence in the window.
    public var frequencyPenalty: Float = 0
    public var penaltyWindow = 64
    /// Added to the logits of these token ids (−infinity bans a token).
    public var logitBias: [Int: Float] = [:]
    public var order: [SamplerStage] = [.penalties, .topK, .typicalP, .topP, .minP, .temperature]

    public init() {}

    /// Temperatures below this are greedy: dividing logits by less overflows to infinity, and the
    /// softmax of what is left would be a uniform draw, the opposite of what a tiny temperature means.
    public static let greedyTemperature: Float = 1e-6

    public var isGreedy: Bool {
        temperature < Self.greedyTemperature && (finalTemperature ?? 0) < Self.greedyTemperature && dynamicTemperatureRange == 0
    }

    /// Rejects values no sampler can use (`InvalidValue` naming the field).
    public func validate() throws {
        let check = Validator(owner: "SamplingParameters")
        try check.require(temperature >= 0 && temperature.isFinite, "temperature", "must be 0 (greedy) or positive", temperature)
        if let finalTemperature {
            try check.require(finalTemperature >= 0 && finalTemperature.isFinite, "finalTemperature", "must be 0 or positive", finalTemperature)
        }
        try check.require(
            dynamicTemperatureRange >= 0 && dynamicTemperatureRange.isFinite, "dynamicTemperatureRange", "must be non-negative",
            dynamicTemperatureRange)
        try check.require(
            dynamicTemperatureExponent > 0 && dynamicTemperatureExponent.isFinite, "dynamicTemperatureExponent", "must be positive",
            dynamicTemperatureExponent)
        try check.require(topK >= 0, "topK", "must be at least 1, or 0 to disable", topK)
        try check.require(topP > 0 && topP <= 1, "topP", "must be in (0, 1]", topP)
        try check.require(minP >= 0 && minP < 1, "minP", "must be in [0, 1)", minP)
        try check.require(typicalP > 0 && typicalP <= 1, "typicalP", "must be in (0, 1]", typicalP)
        try check.require(repetitionPenalty > 0 && repetitionPenalty.isFinite, "repetitionPenalty", "must be positive", repetitionPenalty)
        try check.require(presencePenalty.isFinite, "presencePenalty", "must be finite", presencePenalty)
        try check.require(frequencyPenalty.isFinite, "frequencyPenalty", "must be finite", frequencyPenalty)
        try check.require(penaltyWindow >= 0, "penaltyWindow", "must be non-negative", penaltyWindow)
        try check.require(Set(order).count == order.count, "order", "lists a stage twice")
        for (token, bias) in logitBias.sorted(by: { $0.key < $1.key }) {
            try check.require(token >= 0, "logitBias", "names a negative token id", token)
            try check.require(!bias.isNaN, "logitBias", "gives token \(token) a NaN bias; use a number, -inf (ban) or inf (force)")
        }
    }

    /// Also checks the biases against a vocabulary of `vocabularySize` tokens: every id inside it,
    /// and not every token banned (then nothing could be sampled).
    public func validate(vocabularySize: Int) throws {
        try validate()
        let check = Validator(owner: "SamplingParameters")
        if let outside = logitBias.keys.sorted().first(where: { $0 >= vocabularySize }) {
            try check.require(false, "logitBias", "names token \(outside), outside the model's vocabulary of \(vocabularySize) (ids 0…\(vocabularySize - 1))")
        }
        let banned = logitBias.values.filter { $0 == -.infinity }.count
        try check.require(banned < vocabularySize, "logitBias", "bans every one of the \(vocabularySize) tokens; nothing could be sampled")
    }

    /// Parses a comma-separated stage list such as "top-k,top-p,temperature".
    public static func parseOrder(_ text: String) throws -> [SamplerStage] {
        try text.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let stage = SamplerStage(rawValue: trimmed) else {
                throw InvalidValue(
                    owner: "SamplingParameters", field: "order",
                    rule: "names an unknown sampler '\(trimmed)'; known: \(SamplerStage.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return stage
        }
    }
}

/// A problem with a generation request, phrased for the user.
public struct GenerationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

import Foundation
