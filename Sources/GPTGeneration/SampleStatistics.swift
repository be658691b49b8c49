/// Quality and diversity of a generated sample (`gpt sample --stats`).
public struct SampleStatistics: Sendable, Equatable {
    /// Distinct n-grams ÷ n-grams, for n = 1, 2, 3 (1 = no repetition).
    public let distinct1: Double
    public let distinct2: Double
    public let distinct3: Double
    /// Share of 4-grams that already appeared earlier in the sample.
    public let repeated4gramRate: Double
    /// Mean log-probability of the chosen tokens under the model (nil when not recorded).
    public let meanLogprob: Double?

    public init(tokens: [Int], logprobs: [Float] = []) {
        func distinct(_ n: Int) -> Double {
            guard tokens.count >= n else { return 0 }
            var seen = Set<[Int]>()
            for start in 0...(tokens.count - n) { seen.insert(Array(tokens[start..<(start + n)])) }
            return Double(seen.count) / Double(tokens.count - n + 1)
        }
        distinct1 = distinct(1)
        distinct2 = distinct(2)
        distinct3 = distinct(3)
        if tokens.count >= 4 {
            var seen = Set<[Int]>()
            var repeats = 0
            for start in 0...(tokens.count - 4) {
                if !seen.insert(Array(tokens[start..<(start + 4)])).inserted { repeats += 1 }
            }
            repeated4gramRate = Double(repeats) / Double(tokens.count - 3)
        } else {
            repeated4gramRate = 0
        }
        meanLogprob = logprobs.isEmpty ? nil : logprobs.map(Double.init).reduce(0, +) / Double(logprobs.count)
    }
}
