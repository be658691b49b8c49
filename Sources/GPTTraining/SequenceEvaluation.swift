import Foundation
import GPTModel
import GPTTensor

/// The loss of a model on a whole token sequence, every target scored exactly once.
public struct SequenceEvaluation: Sendable {
    /// Mean cross-entropy in nats per scored token.
    public let loss: Double
    public let tokens: Int
    public let seconds: Double

    public var perplexity: Double { exp(loss) }

    /// Bits per byte of the text the scored targets stand for.
    public func bitsPerByte(scoredBytes: Int) -> Double {
        loss * Double(tokens) / log(2) / Double(max(scoredBytes, 1))
    }

    /// Sliding windows (the transformers perplexity guide's), every S = `stride` tokens: a window
    /// of up to T tokens ending at `end` scores the targets at positions [previous end, end), each
    /// from all the context the window holds. When a window would start after the first unscored
    /// target (S = T), it starts one earlier, so no window boundary is ever dropped: every
    /// position 1 ..< n is scored exactly once. For S < T this equals transformers' numbers.
    public static func evaluate(
        model: GPT, tokens ids: [Int32], stride: Int, parallelism: Parallelism
    ) throws -> SequenceEvaluation {
        let T = model.configuration.contextLength
        try Validator(owner: "SequenceEvaluation").require(
            stride > 0 && stride <= T, "stride", "must be between 1 and the context length \(T)", stride)
        guard ids.count >= 2 else {
            throw ModelError("the text has \(ids.count) token(s); at least 2 are needed to score a prediction")
        }
        let session = InferenceSession(model: model, parallelism: parallelism)
        let started = monotonicSeconds()
        var total = 0.0
        var scored = 0
        var previousEnd = 1
        var begin = 0
        while true {
            let start = min(begin, previousEnd - 1)
            let end = min(start + T, ids.count)
            let length = end - start
            // Row r predicts position start + r + 1; the last row's target is outside the window.
            var targets = Array(ids[(start + 1)..<end])
            targets.append(end < ids.count ? ids[end] : 0)
            let losses = try session.negativeLogLikelihoods(
                tokens: Array(ids[start..<end]), targets: targets, batch: 1, length: length)
            for position in max(previousEnd, start + 1)..<end {
                total += Double(losses[position - start - 1])
                scored += 1
            }
            previousEnd = end
            if end == ids.count { break }
            begin += stride
        }
        let seconds = monotonicSeconds() - started
        return SequenceEvaluation(loss: total / Double(scored), tokens: scored, seconds: seconds)
    }

    /// Windows x = ids[s ..< s+T], y = ids[s+1 ... s+T] for s = 0, T, 2T, … (T = context length;
    /// the last window is shorter), so each of ids[1...] is a target once; no token is prepended.
    /// Full windows are batched `batchSize` at a time.
    public static func evaluate(
        model: GPT, tokens ids: [Int32], batchSize: Int = 8, parallelism: Parallelism
    ) throws -> SequenceEvaluation {
        guard ids.count >= 2 else {
            throw ModelError("the text has \(ids.count) token(s); at least 2 are needed to score a prediction")
        }
        let session = InferenceSession(model: model, parallelism: parallelism)
        let T = model.configuration.contextLength
        let start = monotonicSeconds()
        var starts = Array(stride(from: 0, to: ids.count - 1, by: T))
        var total = 0.0
        var scored = 0
        // Full windows in batches.
        let fullStarts = starts.filter { $0 + T <= ids.count - 1 }
        starts.removeFirst(fullStarts.count)
        var index = 0
        while index < fullStarts.count {
            let group = fullStarts[index..<min(index + batchSize, fullStarts.count)]
            var inputs: [Int32] = []
            var targets: [Int32] = []
            for s in group {
                inputs += ids[s..<(s + T)]
                targets += ids[(s + 1)...(s + T)]
            }
            let losses = try session.negativeLogLikelihoods(tokens: inputs, targets: targets, batch: group.count, length: T)
            total += losses.reduce(0.0) { $0 + Double($1) }
            scored += group.count * T
            index += group.count
        }
        // The final, shorter window.
        for s in starts {
            let length = ids.count - 1 - s
            let losses = try session.negativeLogLikelihoods(
                tokens: Array(ids[s..<(s + length)]), targets: Array(ids[(s + 1)...(s + length)]), batch: 1,
                length: length)
            total += losses.reduce(0.0) { $0 + Double($1) }
            scored += length
        }
        let seconds = monotonicSeconds() - start
        return SequenceEvaluation(loss: total / Double(scored), tokens: scored, seconds: seconds)
    }
}
