import CKernels

extension Kernels {
    /// Multi-head causal self-attention over a fused QKV tensor.
    ///
    /// qkv (B, T, 3C) holds [Q | K | V] per position; head h uses columns h·HS ..< (h+1)·HS
    /// of each. Saves the attention probabilities `attention` (B, NH, T, T), zero above the
    /// diagonal, and writes out (B, T, C) = softmax(Q·Kᵀ / sqrt(HS) + mask) · V per head.
    /// With `dropout` > 0 the probabilities used to mix V are dropped out (the saved ones are not).
    public static func attentionForward(
        output: UnsafeMutablePointer<Float>, attention: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>,
        batch: Int, length: Int, channels: Int, heads: Int,
        dropout: Float = 0, dropoutSeed: UInt64 = 0, context: KernelContext
    ) {
        let (B, T, C, NH) = (batch, length, channels, heads)
        let HS = C / NH
        let scale = 1 / Float(HS).squareRoot()
        let dropped = context.scratch(count: dropout > 0 ? context.parallelism.threads * T * T : 1)
        context.parallelism.forEachChunk(of: B * NH) { chunk, range in
            for item in range {
                let (b, h) = (item / NH, item % NH)
                let query = qkv + b * T * 3 * C + h * HS
                let key = query + C
                let value = query + 2 * C
                let probabilities = attention + item * T * T
                // scores (T, T) = Q · Kᵀ, then a causal softmax row by row
                BLAS.multiply(
                    transposeB: true, rows: T, columns: T, inner: HS,
                    query, leadingA: 3 * C, key, leadingB: 3 * C, probabilities, leadingC: T)
                for t in 0..<T {
                    let row = probabilities + t * T
                    context.elementwise.causal_softmax_row(row, row, t + 1, T, scale)
                }
                var mixing = UnsafePointer(probabilities)
                if dropout > 0 {
                    let mask = dropped + chunk * T * T
                    context.elementwise.dropout(mask, probabilities, T * T, dropoutSeed, UInt64(item * T * T), dropout)
                    mixing = UnsafePointer(mask)
                }
                // out (T, HS) = P · V
                BLAS.multiply(
                    rows: T, columns: HS, inner: T, mixing, leadingA: T, value, leadingB: 3 * C,
                    output + b * T * C + h * HS, leadingC: C)
            }
        }
    }

    /// Accumulates d qkv from d out, using the saved probabilities.
    public static func attentionBackward(
        qkvGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        attention: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        batch: Int, length: Int, channels: Int, heads: Int,
        dropout: Float = 0, dropoutSeed: UInt64 = 0, context: KernelContext
    ) {
        let (B, T, C, NH) = (batch, length, channels, heads)
        let HS = C / NH
        let scale = 1 / Float(HS).squareRoot()
        let perThread = dropout > 0 ? 2 * T * T : T * T
        let scratch = context.scratch(count: context.parallelism.threads * perThread)
        context.parallelism.forEachChunk(of: B * NH) { chunk, range in
            let probabilityGradient = scratch + chunk * perThread
            for item in range {
                let (b, h) = (item / NH, item % NH)
                let query = qkv + b * T * 3 * C + h * HS
                let key = query + C
                let value = query + 2 * C
                let queryGradient = qkvGradient + b * T * 3 * C + h * HS
                let keyGradient = queryGradient + C
                let valueGradient = queryGradient + 2 * C
                let outGradient = outputGradient + b * T * C + h * HS
                let probabilities = attention + item * T * T
                var mixing = probabilities
                if dropout > 0 {
                    let mask = probabilityGradient + T * T
                    context.elementwise.dropout(mask, probabilities, T * T, dropoutSeed, UInt64(item * T * T), dropout)
                    mixing = UnsafePointer(mask)
                }
                // d P (T, T) = d out · Vᵀ ;  d V += Pᵀ · d out
                BLAS.multiply(
                    transposeB: true, rows: T, columns: T, inner: HS,
                    outGradient, leadingA: C, value, leadingB: 3 * C, probabilityGradient, leadingC: T)
                BLAS.multiply(
                    transposeA: true, rows: T, columns: HS, inner: T,
                    mixing, leadingA: T, outGradient, leadingB: C, beta: 1, valueGradient, leadingC: 3 * C)
                if dropout > 0 {
                    context.elementwise.dropout(
                        probabilityGradient, probabilityGradient, T * T, dropoutSeed, UInt64(item * T * T),
                        dropout)
                }
                // d scores = softmax backward, row by row (includes the 1/sqrt(HS) scale)
                for t in 0..<T {
                    let row = probabilityGradient + t * T
                    context.elementwise.causal_softmax_backward_row(row, probabilities + t * T, row, t + 1, T, scale)
                }
                // d Q += d S · K ;  d K += d Sᵀ · Q
                BLAS.multiply(
                    rows: T, columns: HS, inner: T, probabilityGradient, leadingA: T, key, leadingB: 3 * C,
                    beta: 1, queryGradient, leadingC: 3 * C)
                BLAS.multiply(
                    transposeA: true, rows: T, columns: HS, inner: T, probabilityGradient, leadingA: T,
                    query, leadingB: 3 * C, beta: 1, keyGradient, leadingC: 3 * C)
            }
        }
    }
}
