/// A low-rank adapter on a linear layer (LoRA, Hu et al. 2021), as PEFT computes it:
/// out += scale · (x Aᵀ) Bᵀ, with A (r × in), B (out × r) and scale = alpha / r.
/// Shapes: x (rows × in), out (rows × out), the saved product u = x Aᵀ (rows × r).
extension Kernels {
    /// u = x · Aᵀ (saved for backward), then out += scale · u · Bᵀ.
    public static func loraForward(
        output: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, scale: Float,
        rows: Int, inputSize: Int, outputSize: Int, rank: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
            let (start, count) = (range.lowerBound, range.count)
            BLAS.multiply(
                transposeB: true, rows: count, columns: rank, inner: inputSize,
                input + start * inputSize, leadingA: inputSize, a, leadingB: inputSize,
                beta: 0, product + start * rank, leadingC: rank)
            BLAS.multiply(
                transposeB: true, rows: count, columns: outputSize, inner: rank, alpha: scale,
                product + start * rank, leadingA: rank, b, leadingB: rank,
                beta: 1, output + start * outputSize, leadingC: outputSize)
        }
    }

    /// The mirror of `loraForward`. With g = d out:
    /// d B += scale · gᵀ u;  d u = scale · g B (into `productGradient`);  d A += (d u)ᵀ x;
    /// and, when `inputGradient` is given, d x += (d u) A.
    public static func loraBackward(
        inputGradient: UnsafeMutablePointer<Float>?, aGradient: UnsafeMutablePointer<Float>,
        bGradient: UnsafeMutablePointer<Float>, productGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, product: UnsafePointer<Float>, input: UnsafePointer<Float>,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, scale: Float,
        rows: Int, inputSize: Int, outputSize: Int, rank: Int, context: KernelContext
    ) {
        // d B (out × r), split over output rows: a sum over all input rows each.
        context.parallelism.forEachChunk(of: outputSize, minimumChunk: 16) { _, range in
            BLAS.multiply(
                transposeA: true, rows: range.count, columns: rank, inner: rows, alpha: scale,
                outputGradient + range.lowerBound, leadingA: outputSize, product, leadingB: rank,
                beta: 1, bGradient + range.lowerBound * rank, leadingC: rank)
        }
        // d u and d x, split over rows.
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { _, range in
            let (start, count) = (range.lowerBound, range.count)
            BLAS.multiply(
                rows: count, columns: rank, inner: outputSize, alpha: scale,
                outputGradient + start * outputSize, leadingA: outputSize, b, leadingB: rank,
                beta: 0, productGradient + start * rank, leadingC: rank)
            if let inputGradient {
                BLAS.multiply(
                    rows: count, columns: inputSize, inner: rank,
                    productGradient + start * rank, leadingA: rank, a, leadingB: inputSize,
                    beta: 1, inputGradient + start * inputSize, leadingC: inputSize)
            }
        }
        // d A (r × in), split over input columns: a sum over all rows each.
        context.parallelism.forEachChunk(of: inputSize, minimumChunk: 16) { _, range in
            BLAS.multiply(
                transposeA: true, rows: rank, columns: range.count, inner: rows,
                productGradient, leadingA: rank, input + range.lowerBound, leadingB: inputSize,
                beta: 1, aGradient + range.lowerBound, leadingC: inputSize)
        }
    }
}
