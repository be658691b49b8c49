import GPTTensor

/// Sees each (layer, batch row, head)'s attention probabilities (T × T, row-major: query × key)
/// during a forward pass, without changing anything.
public typealias AttentionObserver = (_ layer: Int, _ batchIndex: Int, _ head: Int, _ probabilities: UnsafeBufferPointer<Float>) -> Void

extension GPTModel {
    /// Runs the model on `tokens` (B × T ids, row-major) and, given `targets`, returns the
    /// mean cross-entropy loss. Logits are kept for `logits(batchIndex:position:)`.
    ///
    /// - Parameters:
    ///   - training: apply dropout and keep what `backward` needs.
    ///   - dropoutSeed: the seed of this step's dropout masks (draw it from a `Generator`).
    ///   - lastPositionOnly: compute logits only at position T − 1 (for generation).
    @discardableResult
    public func forward(
        tokens: [Int32], targets: [Int32]? = nil, batch: Int, length: Int,
        training: Bool = false, dropoutSeed: UInt64 = 0, lastPositionOnly: Bool = false,
        context: KernelContext, attentionObserver: AttentionObserver? = nil
    ) throws -> Float? {
        let config = configuration
        let (B, T, C, V, NH) = (batch, length, config.embeddingSize, config.vocabularySize, config.heads)
        let rows = B * T
        guard tokens.count == rows, targets.map({ $0.count == rows }) ?? true else {
            throw ModelError("expected \(rows) tokens and targets for batch \(B) × length \(T)")
        }
        for token in tokens where token < 0 || Int(token) >= V {
            throw ModelError("token id \(token) is outside the vocabulary of \(V)")
        }
        if let targets {
            for target in targets where target < 0 || Int(target) >= V {
                throw ModelError("target id \(target) is outside the vocabulary of \(V)")
            }
        }
        try prepare(batch: B, length: T, training: training)
        guard let act = activations else { return nil }
        let dropout = training ? config : GPTConfiguration.noDropout(config)
        lastDropoutSeed = dropoutSeed
        lastBatch = B
        lastLength = T
        lastLoss = nil
        tokens.withUnsafeBufferPointer { act.tokens.update(from: $0.baseAddress!, count: rows) }
        if let targets { targets.withUnsafeBufferPointer { act.targets.update(from: $0.baseAddress!, count: rows) } }
        let weights = parameters.pointer

        // Token embedding + position encoding (+ dropout).
        Kernels.embeddingForward(
            output: act.embedded, tokens: act.tokens, tokenEmbedding: weights + layout.tokenEmbedding,
            positionTable: positionTable, batch: B, length: T, channels: C, context: context)
        if dropout.embeddingDropout > 0 {
            Kernels.dropout(
                output: act.embedded, input: act.embedded, count: rows * C, probability: dropout.embeddingDropout,
                seed: siteSeed(dropoutSeed, layer: -1, site: 0), context: context)
        }

        // Transformer blocks.
        var x = UnsafePointer(act.embedded)
        for layer in 0..<config.layers {
            let p = layout.blocks[layer]
            let a = act.blocks[layer]
            func weight(_ offset: Int) -> UnsafePointer<Float> { UnsafePointer(weights + offset) }
            func bias(_ offset: Int?) -> UnsafePointer<Float>? { offset.map { UnsafePointer(weights + $0) } }

            // Attention: x₁ = x + proj(attention(LN₁(x)))   [post-norm: x₁ = LN₁(x + proj(attention(x)))]
            var attentionInput = x
            if config.normalization == .pre {
                Kernels.layerNormForward(
                    output: a.firstNorm, mean: a.firstMean, reciprocalStandardDeviation: a.firstReciprocalStd,
                    input: x, weight: weight(p.firstNormWeight), bias: bias(p.firstNormBias),
                    rows: rows, channels: C, epsilon: config.layerNormEpsilon, context: context)
                attentionInput = UnsafePointer(a.firstNorm)
            }
            Kernels.linearForward(
                output: a.qkv, input: attentionInput, weight: weight(p.qkvWeight), bias: bias(p.qkvBias),
                rows: rows, inputSize: C, outputSize: 3 * C, context: context)
            Kernels.attentionForward(
                output: a.attentionOutput, attention: a.attention, qkv: a.qkv,
                batch: B, length: T, channels: C, heads: NH, dropout: dropout.attentionDropout,
                dropoutSeed: siteSeed(dropoutSeed, layer: layer, site: 1), context: context)
            if let attentionObserver {
                // Read-only: the probabilities this forward pass itself mixes the values with.
                for b in 0..<B {
                    for h in 0..<NH {
                        attentionObserver(layer, b, h, UnsafeBufferPointer(start: a.attention + (b * NH + h) * T * T, count: T * T))
                    }
                }
            }
            Kernels.linearForward(
                output: a.attentionProjection, input: a.attentionOutput,
                weight: weight(p.attentionProjectionWeight), bias: bias(p.attentionProjectionBias),
                rows: rows, inputSize: C, outputSize: C, context: context)
            if dropout.residualDropout > 0 {
                Kernels.dropout(
                    output: a.attentionProjection, input: a.attentionProjection, count: rows * C,
                    probability: dropout.residualDropout, seed: siteSeed(dropoutSeed, layer: layer, site: 2),
                    context: context)
            }
            Kernels.add(output: a.firstResidual, x, a.attentionProjection, count: rows * C, context: context)

            // MLP: x₂ = x₁ + down(act(up(LN₂(x₁))))   [post-norm: n = LN₁(x₁); x₂ = LN₂(n + mlp(n))]
            let mlpInput: UnsafeMutablePointer<Float>
            if config.normalization == .pre {
                Kernels.layerNormForward(
                    output: a.secondNorm, mean: a.secondMean, reciprocalStandardDeviation: a.secondReciprocalStd,
                    input: a.firstResidual, weight: weight(p.secondNormWeight), bias: bias(p.secondNormBias),
                    rows: rows, channels: C, epsilon: config.layerNormEpsilon, context: context)
                mlpInput = a.secondNorm
            } else {
                Kernels.layerNormForward(
                    output: a.firstNorm, mean: a.firstMean, reciprocalStandardDeviation: a.firstReciprocalStd,
                    input: a.firstResidual, weight: weight(p.firstNormWeight), bias: bias(p.firstNormBias),
                    rows: rows, channels: C, epsilon: config.layerNormEpsilon, context: context)
                mlpInput = a.firstNorm
            }
            Kernels.linearForward(
                output: a.mlpUp, input: mlpInput, weight: weight(p.mlpUpWeight), bias: bias(p.mlpUpBias),
                rows: rows, inputSize: C, outputSize: 4 * C, context: context)
            Kernels.activationForward(
                output: a.mlpActivated, input: a.mlpUp, count: rows * 4 * C, activation: config.activation,
                context: context)
            Kernels.linearForward(
                output: a.mlpDown, input: a.mlpActivated, weight: weight(p.mlpDownWeight), bias: bias(p.mlpDownBias),
                rows: rows, inputSize: 4 * C, outputSize: C, context: context)
            if dropout.residualDropout > 0 {
                Kernels.dropout(
                    output: a.mlpDown, input: a.mlpDown, count: rows * C, probability: dropout.residualDropout,
                    seed: siteSeed(dropoutSeed, layer: layer, site: 3), context: context)
            }
            let residualBase = config.normalization == .pre ? a.firstResidual : a.firstNorm
            Kernels.add(output: a.secondResidual, residualBase, a.mlpDown, count: rows * C, context: context)
            x = UnsafePointer(a.secondResidual)
            if config.normalization == .post {
                Kernels.layerNormForward(
                    output: a.secondNorm, mean: a.secondMean, reciprocalStandardDeviation: a.secondReciprocalStd,
                    input: a.secondResidual, weight: weight(p.secondNormWeight), bias: bias(p.secondNormBias),
                    rows: rows, channels: C, epsilon: config.layerNormEpsilon, context: context)
                x = UnsafePointer(a.secondNorm)
            }
        }

        // Final LayerNorm and unembedding.
        Kernels.layerNormForward(
            output: act.finalNorm, mean: act.finalMean, reciprocalStandardDeviation: act.finalReciprocalStd,
            input: x, weight: weights + layout.finalNormWeight, bias: layout.finalNormBias.map { UnsafePointer(weights + $0) },
            rows: rows, channels: C, epsilon: config.layerNormEpsilon, context: context)
        if lastPositionOnly {
            for b in 0..<B {
                let row = b * T + T - 1
                Kernels.linearForward(
                    output: act.logits + row * V, input: act.finalNorm + row * C, weight: weights + layout.outputWeight,
                    bias: nil, rows: 1, inputSize: C, outputSize: V, weightIsOutputMajor: true, context: context)
            }
        } else {
            Kernels.linearForward(
                output: act.logits, input: act.finalNorm, weight: weights + layout.outputWeight, bias: nil,
                rows: rows, inputSize: C, outputSize: V, weightIsOutputMajor: true, context: context)
        }

        // Cross-entropy loss, averaged over every position.
        guard targets != nil, !lastPositionOnly else { return nil }
        Kernels.crossEntropyForward(
            losses: act.losses, logSumExp: act.logSumExp, logits: act.logits, targets: act.targets,
            rows: rows, vocabularySize: V, context: context)
        var sum = 0.0
        for row in 0..<rows { sum += Double(act.losses[row]) }
        let loss = Float(sum / Double(rows))
        lastLoss = loss
        return loss
    }

    /// The logits (V values) at one position of the last forward pass.
    public func logits(batchIndex: Int = 0, position: Int) -> UnsafeBufferPointer<Float> {
        guard let act = activations else { return UnsafeBufferPointer(start: nil, count: 0) }
        let V = configuration.vocabularySize
        return UnsafeBufferPointer(start: act.logits + (batchIndex * lastLength + position) * V, count: V)
    }

    /// All logits of the last forward pass (B·T rows of V, row-major).
    public var allLogits: UnsafeBufferPointer<Float> {
        guard let act = activations else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: act.logits, count: lastBatch * lastLength * configuration.vocabularySize)
    }

    /// The cross-entropy at one position of the last forward pass with targets.
    public func loss(batchIndex: Int = 0, position: Int) -> Float {
        guard let act = activations else { return .nan }
        return act.losses[batchIndex * lastLength + position]
    }

    /// A distinct dropout seed for each place dropout happens in one step.
    func siteSeed(_ stepSeed: UInt64, layer: Int, site: Int) -> UInt64 {
        stepSeed &+ UInt64(bitPattern: Int64((layer + 1) * 4 + site)) &* 0x9E37_79B9_7F4A_7C15
    }
}

extension GPTConfiguration {
    static func noDropout(_ configuration: GPTConfiguration) -> GPTConfiguration {
        var copy = configuration
        copy.embeddingDropout = 0
        copy.attentionDropout = 0
        copy.residualDropout = 0
        return copy
    }
}
