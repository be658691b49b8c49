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
    /// Windows of one shape go through together, up to `maximumRows` positions at a time, and only
    /// the positions a window scores reach the unembedding. `progress` gets (targets scored, all).
    public static func evaluate(
        model: GPT, tokens ids: [Int32], stride: Int, parallelism: Parallelism, maximumRows: Int = 4096,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> SequenceEvaluation {
        let T = model.configuration.contextLength
        try Validator(owner: "SequenceEvaluation").require(
            stride > 0 && stride <= T, "stride", "must be between 1 and the context length \(T)", stride)
        try requireTwoTokens(ids)
        // A window feeds ids[start ..< end − 1] and scores its last `scored` positions' next tokens.
        var windows: [(start: Int, end: Int, scored: Int)] = []
        var (previousEnd, begin) = (1, 0)
        while true {
            let start = min(begin, previousEnd - 1)
            let end = min(start + T, ids.count)
            windows.append((start, end, end - max(previousEnd, start + 1)))
            previousEnd = end
            if end == ids.count { break }
            begin += stride
        }
        let groups = windows.chunked(maximumRows: maximumRows) { ($0.end - 1 - $0.start, $0.scored) }
        return try score(model: model, groups: groups, total: ids.count - 1, parallelism: parallelism, progress: progress) {
            window, inputs, targets in
            inputs += ids[window.start..<(window.end - 1)]
            targets += ids[(window.end - window.scored)..<window.end]
        }
    }

    /// Windows x = ids[s ..< s+T], y = ids[s+1 ... s+T] for s = 0, T, 2T, … (T = context length;
    /// the last window is shorter), so each of ids[1...] is a target once; no token is prepended.
    /// Windows go through up to `maximumRows` positions at a time.
    public static func evaluate(
        model: GPT, tokens ids: [Int32], parallelism: Parallelism, maximumRows: Int = 4096,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> SequenceEvaluation {
        try requireTwoTokens(ids)
        let T = model.configuration.contextLength
        let windows = Swift.stride(from: 0, to: ids.count - 1, by: T).map { (start: $0, length: min(T, ids.count - 1 - $0)) }
        let groups = windows.chunked(maximumRows: maximumRows) { ($0.length, $0.length) }
        return try score(model: model, groups: groups, total: ids.count - 1, parallelism: parallelism, progress: progress) {
            window, inputs, targets in
            inputs += ids[window.start..<(window.start + window.length)]
            targets += ids[(window.start + 1)...(window.start + window.length)]
        }
    }

    private static func requireTwoTokens(_ ids: [Int32]) throws {
        guard ids.count >= 2 else {
            throw ModelError("the text has \(ids.count) token(s); at least 2 are needed to score a prediction")
        }
    }

    /// Runs each group of same-shaped windows as one batch and sums the scored losses.
    private static func score<Window>(
        model: GPT, groups: [WindowGroup<Window>], total: Int, parallelism: Parallelism, progress: (Int, Int) -> Void,
        fill: (Window, inout [Int32], inout [Int32]) -> Void
    ) throws -> SequenceEvaluation {
        let session = InferenceSession(model: model, parallelism: parallelism)
        let started = monotonicSeconds()
        var (sum, scored) = (0.0, 0)
        var inputs: [Int32] = []
        var targets: [Int32] = []
        for group in groups {
            inputs.removeAll(keepingCapacity: true)
            targets.removeAll(keepingCapacity: true)
            for window in group.windows { fill(window, &inputs, &targets) }
            let losses = try session.negativeLogLikelihoods(
                tokens: inputs, targets: targets, batch: group.windows.count, length: group.length, scored: group.scored)
            sum += losses.reduce(0.0) { $0 + Double($1) }
            scored += losses.count
            progress(scored, total)
        }
        return SequenceEvaluation(loss: sum / Double(scored), tokens: scored, seconds: monotonicSeconds() - started)
    }
}

/// Consecutive windows of one shape: `length` positions fed, the last `scored` of them scored.
struct WindowGroup<Window> {
    let length: Int
    let scored: Int
    var windows: [Window]
}

extension Array {
    /// Consecutive elements of equal shape (length, scored) in groups of at most `maximumRows` positions.
    fileprivate func chunked(maximumRows: Int, shape: (Element) -> (Int, Int)) -> [WindowGroup<Element>] {
        var groups: [WindowGroup<Element>] = []
        for element in self {
            let (length, scored) = shape(element)
            if let last = groups.last, last.length == length, last.scored == scored,
                (last.windows.count + 1) * length <= maximumRows
            {
                groups[groups.count - 1].windows.append(element)
            } else {
                groups.append(WindowGroup(length: length, scored: scored, windows: [element]))
            }
        }
        return groups
    }
}
