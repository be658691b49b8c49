extension Kernels {
    /// out (B·T, C) = tokenEmbedding[token] + positionTable[t], where row r has t = r mod T.
    public static func embeddingForward(
        output: UnsafeMutablePointer<Float>,
        tokens: UnsafePointer<Int32>,
        tokenEmbedding: UnsafePointer<Float>, positionTable: UnsafePointer<Float>,
        batch: Int, length: Int, channels: Int, context: KernelContext
    ) {
        context.parallelism.forEachChunk(of: batch * length, minimumChunk: 64) { _, range in
            for row in range {
                let token = Int(tokens[row])
                let t = row % length
                context.elementwise.add(output + row * channels, tokenEmbedding + token * channels, positionTable + t * channels, channels)
            }
        }
    }

    /// Accumulates d tokenEmbedding[token] += d out and, when the positions are learned,
    /// d positionEmbedding[t] += d out. Runs in row order so repeated tokens add deterministically.
    public static func embeddingBackward(
        tokenEmbeddingGradient: UnsafeMutablePointer<Float>,
        positionEmbeddingGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
        batch: Int, length: Int, channels: Int, context: KernelContext
    ) {
        for row in 0..<(batch * length) {
            let gradient = outputGradient + row * channels
            context.elementwise.accumulate(tokenEmbeddingGradient + Int(tokens[row]) * channels, gradient, channels)
            if let positionEmbeddingGradient {
                context.elementwise.accumulate(positionEmbeddingGradient + (row % length) * channels, gradient, channels)
            }
        }
    }
}
