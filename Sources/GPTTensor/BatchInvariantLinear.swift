import CKernels

extension Kernels {
    /// out (rows, OC) = input (rows, C) · weight + bias with every output element summed in one fixed
    /// order, so that a row's result is the same bits whatever `rows` is (see
    /// `KernelContext.isBatchInvariant`). Threads split the outputs, never the sum; the weights are
    /// read once for all rows.
    static func batchInvariantLinearForward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows: Int, inputSize: Int, outputSize: Int, weightIsOutputMajor: Bool,
        context: KernelContext
    ) {
        let kernels = context.batched
        // Chunks of whole register tiles (4 weight rows, or 16 columns), so no thread boundary falls
        // inside one and sends its elements down the scalar tail.
        let unit = weightIsOutputMajor ? 4 : 16
        context.parallelism.forEachChunk(of: (outputSize + unit - 1) / unit, minimumChunk: 64 / unit) { _, units in
            let start = units.lowerBound * unit
            let count = min(units.upperBound * unit, outputSize) - start
            if weightIsOutputMajor {
                kernels.rows_times_matrix_transposed(
                    output + start, outputSize, input, inputSize, weight + start * inputSize, bias.map { $0 + start }, rows,
                    inputSize, count)
            } else {
                kernels.rows_times_matrix(
                    output + start, outputSize, input, inputSize, weight + start, outputSize, bias.map { $0 + start }, rows,
                    inputSize, count)
            }
        }
    }
}
