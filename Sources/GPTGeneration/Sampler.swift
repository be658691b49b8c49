import CKernels
import GPTTensor

/// Picks the next token from a row of logits: greedy at temperature 0, otherwise a
/// draw from softmax(logits / temperature), optionally restricted to the top k.
public struct Sampler: Sendable {
    public var temperature: Float
    public var topK: Int?

    public init(temperature: Float = 1, topK: Int? = nil) {
        self.temperature = temperature
        self.topK = topK
    }

    /// `scratch` must hold logits.count Floats (reused between calls: no allocation per token).
    public func sample(
        _ logits: UnsafeBufferPointer<Float>, scratch: UnsafeMutablePointer<Float>, generator: inout Generator
    ) -> Int {
        let count = logits.count
        if temperature <= 0 {
            var best = 0
            for index in 1..<count where logits[index] > logits[best] { best = index }
            return best
        }
        scratch.update(from: logits.baseAddress!, count: count)
        if let topK, topK > 0, topK < count {
            // Threshold at the k-th largest logit; everything below it gets probability 0.
            var sorted = Array(logits)
            sorted.sort(by: >)
            let threshold = sorted[topK - 1]
            for index in 0..<count where scratch[index] < threshold { scratch[index] = -.infinity }
        }
        gpt_softmax(scratch, scratch, count, 1 / temperature)
        let draw = generator.nextFloat()
        var cumulative: Float = 0
        for index in 0..<count {
            cumulative += scratch[index]
            if draw < cumulative { return index }
        }
        // Rounding left the total just below 1: return the last token with probability > 0.
        var last = count - 1
        while last > 0 && scratch[last] == 0 { last -= 1 }
        return last
    }
}
