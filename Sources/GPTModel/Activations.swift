import GPTTensor

/// Pointers to one block's saved activations (rows = B·T).
struct BlockActivations {
    var firstNorm: UnsafeMutablePointer<Float>          // (rows, C)
    var firstMean: UnsafeMutablePointer<Float>          // (rows)
    var firstReciprocalStd: UnsafeMutablePointer<Float> // (rows)
    var qkv: UnsafeMutablePointer<Float>                // (rows, 3C)
    var attention: UnsafeMutablePointer<Float>          // (B, NH, T, T)
    var attentionOutput: UnsafeMutablePointer<Float>    // (rows, C) heads concatenated
    var attentionProjection: UnsafeMutablePointer<Float> // (rows, C) after dropout
    var firstResidual: UnsafeMutablePointer<Float>      // (rows, C)
    var secondNorm: UnsafeMutablePointer<Float>         // (rows, C)
    var secondMean: UnsafeMutablePointer<Float>
    var secondReciprocalStd: UnsafeMutablePointer<Float>
    var mlpUp: UnsafeMutablePointer<Float>              // (rows, H) before the activation
    var mlpActivated: UnsafeMutablePointer<Float>       // (rows, H)
    var mlpDown: UnsafeMutablePointer<Float>            // (rows, C) after dropout
    var secondResidual: UnsafeMutablePointer<Float>     // (rows, C)
    // Where the forward pass read the inputs that depend on the norm placement (for backward).
    var firstNormInput: UnsafePointer<Float>? = nil
    var secondNormInput: UnsafePointer<Float>? = nil
    var qkvInput: UnsafePointer<Float>? = nil
    var mlpUpInput: UnsafePointer<Float>? = nil
}

/// Everything a forward pass saves for its backward, plus the backward's scratch,
/// allocated once for at most `batch` × `length` positions and reused.
final class Activations {
    let batch: Int
    let length: Int
    let storage: FloatBuffer
    let gradientStorage: FloatBuffer?
    let tokens: TokenBuffer
    let targets: TokenBuffer

    var embedded: UnsafeMutablePointer<Float>   // (rows, C)
    var blocks: [BlockActivations] = []
    var finalNorm: UnsafeMutablePointer<Float>  // (rows, C)
    var finalNormInput: UnsafePointer<Float>? = nil
    var finalMean: UnsafeMutablePointer<Float>
    var finalReciprocalStd: UnsafeMutablePointer<Float>
    var logits: UnsafeMutablePointer<Float>     // (rows, V)
    var losses: UnsafeMutablePointer<Float>     // (rows)
    var logSumExp: UnsafeMutablePointer<Float>  // (rows)

    // Backward scratch (only when training): gradients flowing through one block at a time.
    var streamGradient: UnsafeMutablePointer<Float>! = nil      // (rows, C)
    var otherStreamGradient: UnsafeMutablePointer<Float>! = nil // (rows, C)
    var normGradient: UnsafeMutablePointer<Float>! = nil        // (rows, C)
    var projectionGradient: UnsafeMutablePointer<Float>! = nil  // (rows, C)
    var attentionOutputGradient: UnsafeMutablePointer<Float>! = nil // (rows, C)
    var qkvGradient: UnsafeMutablePointer<Float>! = nil         // (rows, 3C)
    var mlpUpGradient: UnsafeMutablePointer<Float>! = nil       // (rows, H)
    var mlpActivatedGradient: UnsafeMutablePointer<Float>! = nil // (rows, H)
    var logitsGradient: UnsafeMutablePointer<Float>! = nil      // (rows, V)
    var ones: UnsafeMutablePointer<Float>! = nil                // (rows)

    /// The floats the buffers for `batch` × `length` positions take (nil when the count overflows).
    static func floatCount(configuration c: GPTConfiguration, batch: Int, length: Int, training: Bool) -> Int? {
        let (C, V, NH, H) = (c.embeddingSize, c.vocabularySize, c.headCount, c.mlpSize)
        guard let rows = CheckedSize.product(batch, length),
            let rowFloats = CheckedSize.sum(C * 10, H * 2, 4).flatMap({ CheckedSize.product(rows, $0) }),
            let attention = CheckedSize.product(batch, NH, length, length),
            let perBlock = CheckedSize.sum(rowFloats, attention),
            let blocks = CheckedSize.product(c.layerCount, perBlock),
            let outside = CheckedSize.sum(C * 2 + 2, V, 2).flatMap({ CheckedSize.product(rows, $0) }),
            let forward = CheckedSize.sum(blocks, outside)
        else { return nil }
        guard training else { return forward }
        return CheckedSize.sum(C * 8, H * 2, V, 1).flatMap { CheckedSize.product(rows, $0) }.flatMap { CheckedSize.sum(forward, $0) }
    }

    init(configuration: GPTConfiguration, batch: Int, length: Int, training: Bool) {
        self.batch = batch
        self.length = length
        let rows = batch * length
        let C = configuration.embeddingSize
        let V = configuration.vocabularySize
        let NH = configuration.headCount
        let H = configuration.mlpSize
        // Sizes checked by `TrainingSession.requireMemory` before any Activations is made.
        let forward = Self.floatCount(configuration: configuration, batch: batch, length: length, training: false)!
        storage = FloatBuffer(count: forward)
        tokens = TokenBuffer(count: rows)
        targets = TokenBuffer(count: rows)

        var slicer = FloatBuffer.Slicer(storage)
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { slicer.take(count) }
        embedded = take(rows * C)
        for _ in 0..<configuration.layerCount {
            blocks.append(
                BlockActivations(
                    firstNorm: take(rows * C), firstMean: take(rows), firstReciprocalStd: take(rows),
                    qkv: take(rows * 3 * C), attention: take(batch * NH * length * length),
                    attentionOutput: take(rows * C), attentionProjection: take(rows * C),
                    firstResidual: take(rows * C), secondNorm: take(rows * C), secondMean: take(rows),
                    secondReciprocalStd: take(rows), mlpUp: take(rows * H), mlpActivated: take(rows * H),
                    mlpDown: take(rows * C), secondResidual: take(rows * C)))
        }
        finalNorm = take(rows * C)
        finalMean = take(rows)
        finalReciprocalStd = take(rows)
        logits = take(rows * V)
        losses = take(rows)
        logSumExp = take(rows)

        guard training else {
            gradientStorage = nil
            return
        }
        let gradients = FloatBuffer(
            count: Self.floatCount(configuration: configuration, batch: batch, length: length, training: true)! - forward)
        gradientStorage = gradients
        slicer = FloatBuffer.Slicer(gradients)
        streamGradient = take(rows * C)
        otherStreamGradient = take(rows * C)
        normGradient = take(rows * C)
        projectionGradient = take(rows * C)
        attentionOutputGradient = take(rows * C)
        qkvGradient = take(rows * 3 * C)
        mlpUpGradient = take(rows * H)
        mlpActivatedGradient = take(rows * H)
        logitsGradient = take(rows * V)
        ones = take(rows)
        ones.update(repeating: 1, count: rows)
    }

    var isTraining: Bool { gradientStorage != nil }
}
