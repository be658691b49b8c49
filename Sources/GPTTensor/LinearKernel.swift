import CKernels

extension Kernels {
    /// out (rows, OC) = input (rows, C) · weight + bias, where `weight` is stored
    /// (C, OC) as GPT-2's Conv1D does, or (OC, C) when `weightIsOutputMajor`
    /// (nn.Linear / the unembedding).
    public static func linearForward(
        output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, inputSize: Int, outputSize: Int,
        weightIsOutputMajor: Bool = false
    ) {
        var beta: Float = 0
        if let bias {
            for row in 0..<rows {
                (output + row * outputSize).update(from: bias, count: outputSize)
            }
            beta = 1
        }
        BLAS.multiply(
            transposeB: weightIsOutputMajor, rows: rows, columns: outputSize, inner: inputSize,
            input, leadingA: inputSize,
            weight, leadingB: weightIsOutputMajor ? inputSize : outputSize,
            beta: beta, output, leadingC: outputSize)
    }

    /// Accumulates d input += d out · weightᵀ, d weight += inputᵀ · d out, d bias += Σ_rows d out.
    /// `ones` holds at least `rows` ones (used to sum columns through BLAS).
    public static func linearBackward(
        inputGradient: UnsafeMutablePointer<Float>?,
        weightGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>,
        ones: UnsafePointer<Float>,
        rows: Int, inputSize: Int, outputSize: Int,
        weightIsOutputMajor: Bool = false
    ) {
        if let inputGradient {
            BLAS.multiply(
                transposeB: !weightIsOutputMajor, rows: rows, columns: inputSize, inner: outputSize,
                outputGradient, leadingA: outputSize,
                weight, leadingB: weightIsOutputMajor ? inputSize : outputSize,
                beta: 1, inputGradient, leadingC: inputSize)
        }
        if weightIsOutputMajor {
            // d weight (OC, C) += d outᵀ (OC, rows) · input (rows, C)
            BLAS.multiply(
                transposeA: true, rows: outputSize, columns: inputSize, inner: rows,
                outputGradient, leadingA: outputSize, input, leadingB: inputSize,
                beta: 1, weightGradient, leadingC: inputSize)
        } else {
            // d weight (C, OC) += inputᵀ (C, rows) · d out (rows, OC)
            BLAS.multiply(
                transposeA: true, rows: inputSize, columns: outputSize, inner: rows,
                input, leadingA: inputSize, outputGradient, leadingB: outputSize,
                beta: 1, weightGradient, leadingC: outputSize)
        }
        if let biasGradient {
            BLAS.multiplyVector(
                transpose: true, rows: rows, columns: outputSize, outputGradient, leading: outputSize,
                ones, beta: 1, biasGradient)
        }
    }
}
