import CKernels

extension Kernels {
    /// losses (rows) = −log softmax(logits)[target]; saves the log-sum-exp of each row.
    public static func crossEntropyForward(
        losses: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        rows: Int, vocabularySize: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 8) { _, range in
            let start = range.lowerBound
            gpt_cross_entropy_forward(
                losses + start, logSumExp + start, logits + start * vocabularySize, targets + start,
                range.count, vocabularySize)
        }
    }

    /// Writes d logits = lossGradient · (softmax(logits) − onehot(target)) — the fused
    /// backward of softmax and cross-entropy (`lossGradient` is 1/(B·T) for a mean loss).
    public static func crossEntropyBackward(
        logitsGradient: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        lossGradient: Float, rows: Int, vocabularySize: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 8) { _, range in
            let start = range.lowerBound
            gpt_cross_entropy_backward(
                logitsGradient + start * vocabularySize, logits + start * vocabularySize, logSumExp + start,
                targets + start, lossGradient, range.count, vocabularySize)
        }
    }
}
