/// A seeded, explicitly passed pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random step in swift-gpt (initialisation, batches, dropout seeds, sampling)
/// takes one of these, so the same seed gives the same run.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var mixer = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    /// A generator continuing from a saved `state` (four words).
    public init(state words: [UInt64]) {
        precondition(words.count == 4, "RandomGenerator state has four words")
        state = words
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state[1] &* 5, 7) &* 9
        let shifted = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= shifted
        state[3] = rotate(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Swift.max(nextDouble(), 1e-300)
        let u2 = nextDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// A seed for one item of a family (a micro-batch of a step of a run …): the values folded
    /// through SplitMix64's finaliser one by one, so that seeds of neighbouring items are unrelated
    /// (seeds that differ by SplitMix64's own increment would share three of their four state words).
    public static func seed(combining values: UInt64...) -> UInt64 {
        var hash: UInt64 = 0x6A09_E667_F3BC_C908
        for value in values {
            var z = (hash ^ value) &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            hash = z ^ (z >> 31)
        }
        return hash
    }

    /// Uniform integer in 0..<bound.
    public mutating func nextInt(below bound: Int) -> Int {
        Int(next(upperBound: UInt64(bound)))
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}

import Foundation

@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
