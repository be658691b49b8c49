import CKernels

// The BLAS runs single-threaded; each product is split into `threads` independent
// row blocks here, so the whole program has one set of worker threads (no BLAS
// threads spinning while our own kernels run) and every split is deterministic.

extension Kernels {
    /// out (rows, OC) = input (rows, C) · weight + bias, where `weight` is stored
    /// (C, OC) as GPT-2's Conv1D does, or (OC, C) when `weightIsOutputMajor`
    /// (nn.Linear / the unembedding).
    public static func linearForward(
        output: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, inputSize: Int, outputSize: Int,
        weightIsOutputMajor: Bool = false, context: KernelContext
    ) {
        if context.isBatchInvariant {
            batchInvariantLinearForward(
                output: output, input: input, weight: weight, bias: bias, rows: rows, inputSize: inputSize,
                outputSize: outputSize, weightIsOutputMajor: weightIsOutputMajor, context: context)
            return
        }
        if rows == 1 {
            // One vector (generation) is memory-bound: each thread streams one contiguous block of
            // the weights. [out, in]: a block of output rows. [in, out]: a block of input rows into
            // its own partial sum, added up afterwards.
            if weightIsOutputMajor {
                context.parallelism.forEachChunk(of: outputSize, minimumChunk: 64) { _, range in
                    let out = output + range.lowerBound
                    if let bias { out.update(from: bias + range.lowerBound, count: range.count) }
                    context.decode.matrix_times_vector(
                        out, weight + range.lowerBound * inputSize, input, range.count, inputSize, bias == nil ? 0 : 1)
                }
                return
            }
            let used = context.parallelism.chunkCount(of: inputSize, minimumChunk: 64)
            let partials = context.scratch(count: used * outputSize)
            context.parallelism.forEachChunk(of: inputSize, minimumChunk: 64) { chunk, range in
                context.decode.vector_times_matrix(
                    partials + chunk * outputSize, input + range.lowerBound, weight + range.lowerBound * outputSize,
                    range.count, outputSize, outputSize, 0)
            }
            if let bias { output.update(from: bias, count: outputSize) } else { output.update(repeating: 0, count: outputSize) }
            context.parallelism.forEachChunk(of: outputSize, minimumChunk: 1024) { _, range in
                for chunk in 0..<used {
                    context.elementwise.accumulate(output + range.lowerBound, partials + chunk * outputSize + range.lowerBound, range.count)
                }
            }
            return
        }
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
            let out = output + range.lowerBound * outputSize
            var beta: Float = 0
            if let bias {
                for row in 0..<range.count { (out + row * outputSize).update(from: bias, count: outputSize) }
                beta = 1
            }
            BLAS.multiply(
                transposeB: weightIsOutputMajor, rows: range.count, columns: outputSize, inner: inputSize,
                input + range.lowerBound * inputSize, leadingA: inputSize,
                weight, leadingB: weightIsOutputMajor ? inputSize : outputSize,
                beta: beta, out, leadingC: outputSize)
        }
    }

    /// Accumulates d input += d out · weightᵀ only (the part of `linearBackward` a frozen weight needs).
    public static func linearInputGradient(
        inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows: Int, inputSize: Int, outputSize: Int, weightIsOutputMajor: Bool = false, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
            BLAS.multiply(
                transposeB: !weightIsOutputMajor, rows: range.count, columns: inputSize, inner: outputSize,
                outputGradient + range.lowerBound * outputSize, leadingA: outputSize,
                weight, leadingB: weightIsOutputMajor ? inputSize : outputSize,
                beta: 1, inputGradient + range.lowerBound * inputSize, leadingC: inputSize)
        }
    }

    /// Accumulates d input += d out · weightᵀ, d weight += inputᵀ · d out, d bias += Σ_rows d out.
    /// `ones` holds at least `rows` ones (used to sum columns through BLAS). An output-major weight
    /// (the unembedding) has no bias. A frozen weight needs only `linearInputGradient`.
    public static func linearBackward(
        inputGradient: UnsafeMutablePointer<Float>?,
        weightGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>,
        ones: UnsafePointer<Float>,
        rows: Int, inputSize: Int, outputSize: Int,
        weightIsOutputMajor: Bool = false, context: KernelContext
    ) {
        if let inputGradient {
            linearInputGradient(
                inputGradient: inputGradient, outputGradient: outputGradient, weight: weight, rows: rows,
                inputSize: inputSize, outputSize: outputSize, weightIsOutputMajor: weightIsOutputMajor, context: context)
        }
        if weightIsOutputMajor {
            precondition(biasGradient == nil, "linearBackward: an output-major weight has no bias")
            // d weight (OC, C) += d outᵀ (OC, rows) · input (rows, C), split over OC.
            context.parallelism.forEachChunk(of: outputSize, minimumChunk: 16) { _, range in
                BLAS.multiply(
                    transposeA: true, rows: range.count, columns: inputSize, inner: rows,
                    outputGradient + range.lowerBound, leadingA: outputSize, input, leadingB: inputSize,
                    beta: 1, weightGradient + range.lowerBound * inputSize, leadingC: inputSize)
            }
        } else {
            // d weight (C, OC) += inputᵀ (C, rows) · d out (rows, OC), split over OC columns.
            context.parallelism.forEachChunk(of: outputSize, minimumChunk: 16) { _, range in
                BLAS.multiply(
                    transposeA: true, rows: inputSize, columns: range.count, inner: rows,
                    input, leadingA: inputSize, outputGradient + range.lowerBound, leadingB: outputSize,
                    beta: 1, weightGradient + range.lowerBound, leadingC: outputSize)
                if let biasGradient {
                    accumulateColumnSums(
                        of: outputGradient, rows: rows, columns: range, leading: outputSize, ones: ones, into: biasGradient)
                }
            }
        }
    }

    /// into[j] += Σ_rows matrix[row · leading + j] for j in `columns` (a bias gradient), through BLAS
    /// with `ones` holding at least `rows` ones.
    static func accumulateColumnSums(
        of matrix: UnsafePointer<Float>, rows: Int, columns: Range<Int>, leading: Int, ones: UnsafePointer<Float>,
        into sums: UnsafeMutablePointer<Float>
    ) {
        BLAS.multiplyVector(
            transpose: true, rows: rows, columns: columns.count, matrix + columns.lowerBound, leading: leading, ones,
            beta: 1, sums + columns.lowerBound)
    }
}
