import Foundation

/// The model's next-token distribution at one temperature: softmax(logits / T), its entropy, and
/// the most likely tokens. What `gpt viz next-token` draws and what a server's logprobs report.
public struct NextTokenDistribution: Sendable {
    public let temperature: Float
    /// Probabilities by token id (they sum to 1).
    public let probabilities: [Double]
    /// −Σ p log p, in nats.
    public let entropy: Double

    /// The distribution of `logits` at `temperature` (> 0), computed in Double with the maximum subtracted.
    public init(logits: some Collection<Float>, temperature: Float) {
        precondition(temperature > 0 && temperature.isFinite, "NextTokenDistribution: temperature must be positive")
        self.temperature = temperature
        let scaled = logits.map { Double($0) / Double(temperature) }
        let maximum = scaled.max() ?? 0
        let exponentials = scaled.map { exp($0 - maximum) }
        let total = exponentials.reduce(0, +)
        probabilities = exponentials.map { $0 / total }
        entropy = -probabilities.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
    }

    /// The `count` most likely token ids with their probabilities, most likely first (ties: lower id first).
    public func top(_ count: Int) -> [(token: Int, probability: Double)] {
        probabilities.indices
            .sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
            .prefix(count).map { ($0, probabilities[$0]) }
    }
}
