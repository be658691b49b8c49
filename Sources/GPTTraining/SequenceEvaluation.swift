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

    /// Windows x = ids[s ..< s+T], y = ids[s+1 ... s+T] for s = 0, T, 2T, … (T = context length;
    /// the last window is shorter), so each of ids[1...] is a target once; no token is prepended.
    /// Full windows are batched `batchSize` at a time.
    public static func evaluate(
        model: GPTModel, tokens ids: [Int32], batchSize: Int = 8, parallelism: Parallelism
    ) throws -> SequenceEvaluation {
        guard ids.count >= 2 else {
            throw ModelError("the text has \(ids.count) token(s); at least 2 are needed to score a prediction")
        }
        let context = KernelContext(parallelism: parallelism)
        let T = model.configuration.contextLength
        let start = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
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
            let loss = try model.forward(tokens: inputs, targets: targets, batch: group.count, length: T, context: context)!
            total += Double(loss) * Double(group.count * T)
            scored += group.count * T
            index += group.count
        }
        // The final, shorter window.
        for s in starts {
            let length = ids.count - 1 - s
            let loss = try model.forward(
                tokens: Array(ids[s..<(s + length)]), targets: Array(ids[(s + 1)...(s + length)]), batch: 1,
                length: length, context: context)!
            total += Double(loss) * Double(length)
            scored += length
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds) / 1e9 - start
        return SequenceEvaluation(loss: total / Double(scored), tokens: scored, seconds: seconds)
    }
}
