import Foundation

/// Linear warmup, then cosine decay to a minimum, then the minimum (nanoGPT's `get_lr`).
public struct LearningRateSchedule: Equatable, Sendable, Codable {
    public var maximum: Float
    public var minimum: Float
    public var warmupIterations: Int
    public var decayIterations: Int

    public init(maximum: Float, minimum: Float, warmupIterations: Int, decayIterations: Int) {
        self.maximum = maximum
        self.minimum = minimum
        self.warmupIterations = warmupIterations
        self.decayIterations = decayIterations
    }

    /// The learning rate for iteration `iteration` (0-based).
    public func learningRate(at iteration: Int) -> Float {
        // 1) linear warmup for warmupIterations steps
        if iteration < warmupIterations {
            return maximum * Float(iteration + 1) / Float(warmupIterations + 1)
        }
        // 2) past the decay horizon, the minimum
        if iteration > decayIterations {
            return minimum
        }
        // 3) in between, cosine decay from maximum down to minimum
        let span = max(1, decayIterations - warmupIterations)
        let ratio = Double(iteration - warmupIterations) / Double(span)
        let coefficient = 0.5 * (1 + cos(Double.pi * ratio))
        return minimum + Float(coefficient) * (maximum - minimum)
    }
}
