import CKernels

extension Kernels {
    /// Causal attention of `count` new positions per row over a key/value cache.
    ///
    /// qkv (B, count, 3C) holds the new positions' [Q | K | V]; their K and V have already been
    /// written into the caches (B, NH, capacity, HS) at positions past ..< past + count. New position i
    /// attends to cached positions 0 ... past + i. Writes out (B, count, C).
    public static func cachedAttentionForward(
        output: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        keyCache: UnsafePointer<Float>, valueCache: UnsafePointer<Float>,
        batch: Int, count: Int, past: Int, capacity: Int, channels: Int, heads: Int, context: KernelContext
    ) {
        let (B, C, NH) = (batch, channels, heads)
        let HS = C / NH
        let total = past + count
        let scale = 1 / Float(HS).squareRoot()
        let scratch = context.scratch(count: context.parallelism.threads * count * total)
        context.parallelism.forEachChunk(of: B * NH) { chunk, range in
            let scores = scratch + chunk * count * total
            for item in range {
                let (b, h) = (item / NH, item % NH)
                let query = qkv + b * count * 3 * C + h * HS
                let keys = keyCache + item * capacity * HS
                let values = valueCache + item * capacity * HS
                if count == 1 {  // decoding: one query, a fused pass over the cache
                    context.decode.attention_decode(output + b * C + h * HS, query, keys, values, total, HS, HS, scale, scores)
                    continue
                }
                // scores (count, total) = Q · Kᵀ, then a causal softmax offset by `past`
                BLAS.multiply(
                    transposeB: true, rows: count, columns: total, inner: HS,
                    query, leadingA: 3 * C, keys, leadingB: HS, scores, leadingC: total)
                for i in 0..<count {
                    let row = scores + i * total
                    context.elementwise.causal_softmax_row(row, row, past + i + 1, total, scale)
                }
                BLAS.multiply(
                    rows: count, columns: HS, inner: total, scores, leadingA: total, values, leadingB: HS,
                    output + b * count * C + h * HS, leadingC: C)
            }
        }
    }
}

extension Kernels {
    /// One query over `length` cached keys and values of one head (rows `stride` floats apart):
    /// out (HS) = Σ_j softmax(q·k_j / √HS) v_j, summed in one fixed order, so that a position's result
    /// depends on its own query and cache alone. `scores` holds `length` floats of scratch.
    public static func attentionDecode(
        output: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, length: Int, headSize: Int, stride: Int, scores: UnsafeMutablePointer<Float>,
        context: KernelContext
    ) {
        let scale = 1 / Float(headSize).squareRoot()
        context.decode.attention_decode(output, query, keys, values, length, headSize, stride, scale, scores)
    }
}
