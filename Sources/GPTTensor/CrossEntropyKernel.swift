extension Kernels {
    /// losses (rows) = −log softmax(logits)[target]; saves the log-sum-exp of each row.
    public static func crossEntropyForward(
        losses: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        rows: Int, vocabularySize: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 8) { _, range in
            let start = range.lowerBound
            context.elementwise.cross_entropy_forward(
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
            context.elementwise.cross_entropy_backward(
                logitsGradient + start * vocabularySize, logits + start * vocabularySize, logSumExp + start,
                targets + start, lossGradient, range.count, vocabularySize)
        }
    }

    /// Knowledge distillation, per row (writes losses and d logits): loss = α·T²·KL(softmax(teacher/T) ‖
    /// softmax(student/T)) + (1 − α)·CE(student, target), and its gradient times `lossGradient`.
    public static func distillation(
        losses: UnsafeMutablePointer<Float>, logitsGradient: UnsafeMutablePointer<Float>,
        student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        rows: Int, vocabularySize: Int, temperature: Float, alpha: Float, lossGradient: Float, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 8) { _, range in
            let (start, V) = (range.lowerBound, vocabularySize)
            context.elementwise.distillation_rows(
                losses + start, logitsGradient + start * V, student + start * V, teacher + start * V, targets + start,
                range.count, V, temperature, alpha, lossGradient)
        }
    }

    /// Softmax of one row at `inverseTemperature` (writes; the maximum is subtracted first). For callers
    /// without a context (a sampler): runs on the calling thread at `level`.
    public static func softmax(
        probabilities: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, count: Int, inverseTemperature: Float,
        level: KernelLevel = .best
    ) {
        level.usable.elementwise.softmax(probabilities, logits, count, inverseTemperature)
    }

    /// x *= scale.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by scale: Float, context: KernelContext) {
        context.parallelism.forEachChunk(of: count, minimumChunk: 16_384) { _, range in
            context.elementwise.scale(x + range.lowerBound, range.count, scale)
        }
    }

    /// Σ x², accumulated in Double per thread chunk and then in chunk order (deterministic).
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int, context: KernelContext) -> Double {
        var partials = [Double](repeating: 0, count: context.parallelism.threads)
        partials.withUnsafeMutableBufferPointer { partials in
            context.parallelism.forEachChunk(of: count, minimumChunk: 16_384) { chunk, range in
                partials[chunk] = context.elementwise.sum_of_squares(x + range.lowerBound, range.count)
            }
        }
        return partials.reduce(0, +)
    }
}
