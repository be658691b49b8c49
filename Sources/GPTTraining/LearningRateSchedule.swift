import Foundation

/// The shape of the learning rate after warmup.
public enum ScheduleKind: String, CaseIterable, Sendable, Codable {
    /// The peak rate throughout.
    case constant
    /// Straight down from the peak to the minimum at the decay horizon.
    case linear
    /// Half a cosine from the peak to the minimum at the decay horizon (nanoGPT's `get_lr`).
    case cosine
    /// Warmup-stable-decay: the peak until the last `decayFraction` of the horizon, then linear to the minimum.
    case wsd
}

/// Linear warmup for `warmupIterations` steps, then the `kind`'s curve from `maximum` to
/// `minimum` at `decayIterations`, then `minimum`.
public struct LearningRateSchedule: Equatable, Sendable {
    public var kind: ScheduleKind
    public var maximum: Float
    public var minimum: Float
    public var warmupIterations: Int
    public var decayIterations: Int
    /// For `wsd`: the share of the post-warmup horizon spent decaying.
    public var decayFraction: Float

    public init(
        kind: ScheduleKind = .cosine, maximum: Float, minimum: Float, warmupIterations: Int, decayIterations: Int,
        decayFraction: Float = 0.2
    ) {
        self.kind = kind
        self.maximum = maximum
        self.minimum = minimum
        self.warmupIterations = warmupIterations
        self.decayIterations = decayIterations
        self.decayFraction = decayFraction
    }

    /// The learning rate for iteration `iteration` (0-based).
    public func learningRate(at iteration: Int) -> Float {
        // 1) linear warmup for warmupIterations steps (all kinds)
        if iteration < warmupIterations {
            return maximum * Float(iteration + 1) / Float(warmupIterations + 1)
        }
        // 2) past the decay horizon, the minimum (a constant schedule has no horizon)
        if iteration > decayIterations && kind != .constant { return minimum }
        // 3) in between, the kind's curve from maximum down to minimum
        let span = Double(max(1, decayIterations - warmupIterations))
        let ratio = Double(iteration - warmupIterations) / span
        switch kind {
        case .constant:
            return maximum
        case .linear:
            return maximum + Float(ratio) * (minimum - maximum)
        case .cosine:
            let coefficient = 0.5 * (1 + cos(Double.pi * ratio))
            return minimum + Float(coefficient) * (maximum - minimum)
        case .wsd:
            let decayStart = 1 - Double(decayFraction)
            guard ratio > decayStart else { return maximum }
            return maximum + Float((ratio - decayStart) / max(Double(decayFraction), 1e-12)) * (minimum - maximum)
        }
    }
}
