import Foundation
import GPTModel
import GPTTensor

/// How much a quantized model's predictions differ from the original's on the same text, as
/// llama.cpp's `llama-perplexity --kl-divergence` reports it: both perplexities, the mean
/// KL(original ‖ quantized) of the next-token distributions, and how often their top tokens agree.
public struct QuantizationComparison: Sendable {
    public let originalLoss: Double
    public let quantizedLoss: Double
    /// Mean KL divergence in nats per scored position.
    public let meanKLDivergence: Double
    /// The share of positions whose most likely next token is the same.
    public let sameTopToken: Double
    public let tokens: Int

    public var originalPerplexity: Double { exp(originalLoss) }
    public var quantizedPerplexity: Double { exp(quantizedLoss) }

    /// Scores `tokens` in windows of the context length starting at 0, T, 2T, … (as `gpt eval`),
    /// every target once, through both models' inference paths. `progress` gets (scored, all).
    public static func compare(
        original: GPT, quantized: GPT, tokens: [Int32], parallelism: Parallelism,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> QuantizationComparison {
        guard original.configuration.vocabularySize == quantized.configuration.vocabularySize,
            original.configuration.contextLength == quantized.configuration.contextLength
        else {
            throw ModelError("the two models differ in vocabulary or context; they are not one model in two types")
        }
        guard tokens.count >= 2 else { throw ModelError("the text is under two tokens; nothing to score") }
        let (T, V) = (original.configuration.contextLength, original.configuration.vocabularySize)
        let context = KernelContext(parallelism: parallelism)
        let sessions = (InferenceSession(model: original, context: context), InferenceSession(model: quantized, context: context))
        let caches = (KVCache(configuration: original.configuration), KVCache(configuration: quantized.configuration))
        let originalLogits = FloatBuffer(count: T * V)
        let gradients = FloatBuffer(count: T * V)
        let (losses, logSumExp, divergences) = (FloatBuffer(count: T), FloatBuffer(count: T), FloatBuffer(count: T))
        let targets = TokenBuffer(count: T)
        var sums = (original: 0.0, quantized: 0.0, divergence: 0.0, agree: 0)
        let total = tokens.count - 1
        var start = 0
        while start < total {
            let length = min(T, total - start)
            let window = Array(tokens[start..<(start + length)])
            targets.copy(Array(tokens[(start + 1)...(start + length)]))
            caches.0.reset()
            caches.1.reset()
            let a = try sessions.0.forward(tokens: window, count: length, cache: caches.0, positions: .all)
            originalLogits.pointer.update(from: a.baseAddress!, count: length * V)
            let b = try sessions.1.forward(tokens: window, count: length, cache: caches.1, positions: .all)
            let originalRows = UnsafePointer(originalLogits.pointer)
            /// Σ −log p(target) over the window's rows of `logits`.
            func loss(_ logits: UnsafePointer<Float>) -> Double {
                Kernels.crossEntropyForward(
                    losses: losses.pointer, logSumExp: logSumExp.pointer, logits: logits, targets: targets.pointer,
                    rows: length, vocabularySize: V, context: context)
                return (0..<length).reduce(0.0) { $0 + Double(losses[$1]) }
            }
            sums.original += loss(originalRows)
            sums.quantized += loss(b.baseAddress!)
            // α = 1, T = 1: the loss is exactly KL(softmax(original) ‖ softmax(quantized)).
            Kernels.distillation(
                losses: divergences.pointer, logitsGradient: gradients.pointer, student: b.baseAddress!, teacher: originalRows,
                targets: targets.pointer, rows: length, vocabularySize: V, temperature: 1, alpha: 1, lossGradient: 0,
                context: context)
            for row in 0..<length {
                sums.divergence += Double(divergences[row])
                if argmax(originalRows + row * V, V) == argmax(b.baseAddress! + row * V, V) { sums.agree += 1 }
            }
            start += length
            progress?(start, total)
        }
        let n = Double(total)
        return QuantizationComparison(
            originalLoss: sums.original / n, quantizedLoss: sums.quantized / n, meanKLDivergence: sums.divergence / n,
            sameTopToken: Double(sums.agree) / n, tokens: total)
    }

    private static func argmax(_ row: UnsafePointer<Float>, _ count: Int) -> Int {
        var best = 0
        for index in 1..<count where row[index] > row[best] { best = index }
        return best
    }
}
