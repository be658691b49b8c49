import CKernels

extension Kernels {
    /// out (rows, C) = (x − mean) / sqrt(var + ε) · weight + bias; saves mean and 1/std per row.
    public static func layerNormForward(
        output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        reciprocalStandardDeviation: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, channels: Int, epsilon: Float, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
            let offset = range.lowerBound * channels
            context.elementwise.layernorm_forward(
                output + offset, mean + range.lowerBound, reciprocalStandardDeviation + range.lowerBound,
                input + offset, weight, bias, range.count, channels, epsilon)
        }
    }

    /// Accumulates into d input, d weight and d bias. Each thread sums its rows'
    /// weight and bias gradients into its own scratch; the partial sums are then
    /// added in thread order, so the result does not depend on timing.
    public static func layerNormBackward(
        inputGradient: UnsafeMutablePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, reciprocalStandardDeviation: UnsafePointer<Float>,
        rows: Int, channels: Int, context: KernelContext
    ) {
        let threads = context.parallelism.threads
        let partials = context.scratch(count: threads * 2 * channels)
        partials.update(repeating: 0, count: threads * 2 * channels)
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { chunk, range in
            let offset = range.lowerBound * channels
            let partialWeight = partials + chunk * 2 * channels
            context.elementwise.layernorm_backward(
                inputGradient + offset, partialWeight, biasGradient == nil ? nil : partialWeight + channels,
                outputGradient + offset, input + offset, weight,
                mean + range.lowerBound, reciprocalStandardDeviation + range.lowerBound,
                range.count, channels)
        }
        guard let weightGradient else { return }  // frozen gain and bias: d input only
        for chunk in 0..<threads {
            let partialWeight = partials + chunk * 2 * channels
            context.elementwise.accumulate(weightGradient, partialWeight, channels)
            if let biasGradient { context.elementwise.accumulate(biasGradient, partialWeight + channels, channels) }
        }
    }
}
