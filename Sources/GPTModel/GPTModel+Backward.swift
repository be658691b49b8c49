import GPTTensor

extension GPTModel {
    /// Backpropagates the mean loss of the last training forward pass, accumulating
    /// (+=) into `gradients`. The mirror of `forward`, in exact reverse order.
    public func backward(context: KernelContext) throws {
        try backward(context: context, lossGradient: nil)
    }

    /// `lossGradient`, when given, writes d logits itself (rows × V) from the logits and targets
    /// instead of the cross-entropy's — e.g. a distillation loss.
    public func backward(
        context: KernelContext,
        lossGradient: ((_ logitsGradient: UnsafeMutablePointer<Float>, _ logits: UnsafePointer<Float>,
            _ targets: UnsafePointer<Int32>, _ rows: Int) -> Void)?
    ) throws {
        guard let act = activations, act.isTraining, lastLoss != nil, let gradientBuffer = gradients else {
            throw ModelError("backward needs a preceding training forward pass with targets")
        }
        let config = configuration
        let (B, T, C, V, NH) = (lastBatch, lastLength, config.embeddingSize, config.vocabularySize, config.heads)
        let rows = B * T
        let weights = parameters.pointer
        let grads = gradientBuffer.pointer
        let dropoutSeed = lastDropoutSeed
        func weight(_ offset: Int) -> UnsafePointer<Float> { UnsafePointer(weights + offset) }
        func gradient(_ offset: Int?) -> UnsafeMutablePointer<Float>? { offset.map { grads + $0 } }
        func zero(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) { pointer.update(repeating: 0, count: count) }
        /// The gradient reaching a residual branch's output: the stream, through the branch's dropout mask.
        func residualBranchGradient(_ stream: UnsafeMutablePointer<Float>, layer: Int, site: Int) -> UnsafePointer<Float> {
            guard config.residualDropout > 0 else { return UnsafePointer(stream) }
            Kernels.dropout(
                output: act.projectionGradient, input: stream, count: rows * C, probability: config.residualDropout,
                seed: siteSeed(dropoutSeed, layer: layer, site: site), context: context)
            return UnsafePointer(act.projectionGradient)
        }
        /// Post-norm: replaces `stream` (d LayerNorm output) with d LayerNorm input, using `spare` as the new buffer.
        func normBackward(
            _ stream: inout UnsafeMutablePointer<Float>, _ spare: inout UnsafeMutablePointer<Float>, weight offset: Int,
            bias: Int?, input: UnsafePointer<Float>, mean: UnsafePointer<Float>,
            reciprocalStandardDeviation: UnsafePointer<Float>
        ) {
            zero(spare, rows * C)
            Kernels.layerNormBackward(
                inputGradient: spare, weightGradient: grads + offset, biasGradient: gradient(bias),
                outputGradient: stream, input: input, weight: weight(offset), mean: mean,
                reciprocalStandardDeviation: reciprocalStandardDeviation, rows: rows, channels: C, context: context)
            swap(&stream, &spare)
        }

        // Loss: the mean over B·T positions seeds d logits with 1/(B·T) (fused softmax + cross-entropy).
        if let lossGradient {
            lossGradient(act.logitsGradient, act.logits, act.targets, rows)
        } else {
            Kernels.crossEntropyBackward(
                logitsGradient: act.logitsGradient, logits: act.logits, logSumExp: act.logSumExp, targets: act.targets,
                lossGradient: 1 / Float(rows), rows: rows, vocabularySize: V, context: context)
        }

        // Unembedding. With tied embeddings this accumulates into the token embedding's gradient.
        zero(act.normGradient, rows * C)
        Kernels.linearBackward(
            inputGradient: act.normGradient, weightGradient: grads + layout.outputWeight, biasGradient: nil,
            outputGradient: act.logitsGradient, input: act.finalNorm, weight: weight(layout.outputWeight),
            ones: act.ones, rows: rows, inputSize: C, outputSize: V, weightIsOutputMajor: true, context: context)

        // Final LayerNorm: its input is the last block's output.
        let lastBlock = act.blocks[config.layers - 1]
        let lastOutput = config.normalization == .pre ? lastBlock.secondResidual : lastBlock.secondNorm
        var stream = act.streamGradient!  // d (current block output)
        var other = act.otherStreamGradient!
        zero(stream, rows * C)
        Kernels.layerNormBackward(
            inputGradient: stream, weightGradient: grads + layout.finalNormWeight,
            biasGradient: gradient(layout.finalNormBias), outputGradient: act.normGradient,
            input: lastOutput, weight: weight(layout.finalNormWeight),
            mean: act.finalMean, reciprocalStandardDeviation: act.finalReciprocalStd,
            rows: rows, channels: C, context: context)

        // Blocks, last to first.
        for layer in stride(from: config.layers - 1, through: 0, by: -1) {
            let p = layout.blocks[layer]
            let a = act.blocks[layer]
            let input = layer == 0 ? act.embedded : (config.normalization == .pre
                ? act.blocks[layer - 1].secondResidual : act.blocks[layer - 1].secondNorm)

            if config.normalization == .post {
                // out = LN₂(secondResidual)
                normBackward(
                    &stream, &other, weight: p.secondNormWeight, bias: p.secondNormBias, input: a.secondResidual,
                    mean: a.secondMean, reciprocalStandardDeviation: a.secondReciprocalStd)
            }
            // secondResidual = base + dropout(mlpDown): the residual passes `stream` to the base unchanged.
            let mlpDownGradient = residualBranchGradient(stream, layer: layer, site: 3)
            let mlpInput = config.normalization == .pre ? a.secondNorm : a.firstNorm
            zero(act.mlpActivatedGradient, rows * 4 * C)
            Kernels.linearBackward(
                inputGradient: act.mlpActivatedGradient, weightGradient: grads + p.mlpDownWeight,
                biasGradient: gradient(p.mlpDownBias), outputGradient: mlpDownGradient, input: a.mlpActivated,
                weight: weight(p.mlpDownWeight), ones: act.ones, rows: rows, inputSize: 4 * C, outputSize: C, context: context)
            zero(act.mlpUpGradient, rows * 4 * C)
            Kernels.activationBackward(
                inputGradient: act.mlpUpGradient, outputGradient: act.mlpActivatedGradient, input: a.mlpUp,
                count: rows * 4 * C, activation: config.activation, context: context)
            zero(act.normGradient, rows * C)
            Kernels.linearBackward(
                inputGradient: act.normGradient, weightGradient: grads + p.mlpUpWeight,
                biasGradient: gradient(p.mlpUpBias), outputGradient: act.mlpUpGradient, input: mlpInput,
                weight: weight(p.mlpUpWeight), ones: act.ones, rows: rows, inputSize: C, outputSize: 4 * C, context: context)
            if config.normalization == .pre {
                // secondNorm = LN₂(firstResidual): add its gradient to the residual stream.
                Kernels.layerNormBackward(
                    inputGradient: stream, weightGradient: grads + p.secondNormWeight,
                    biasGradient: gradient(p.secondNormBias), outputGradient: act.normGradient,
                    input: a.firstResidual, weight: weight(p.secondNormWeight), mean: a.secondMean,
                    reciprocalStandardDeviation: a.secondReciprocalStd, rows: rows, channels: C, context: context)
            } else {
                // firstNorm feeds both the MLP and the residual; then firstNorm = LN₁(firstResidual).
                Kernels.accumulate(stream, act.normGradient, count: rows * C, context: context)
                normBackward(
                    &stream, &other, weight: p.firstNormWeight, bias: p.firstNormBias, input: a.firstResidual,
                    mean: a.firstMean, reciprocalStandardDeviation: a.firstReciprocalStd)
            }

            // firstResidual = input + dropout(attentionProjection): `stream` now is d firstResidual.
            let projectionGradient = residualBranchGradient(stream, layer: layer, site: 2)
            zero(act.attentionOutputGradient, rows * C)
            Kernels.linearBackward(
                inputGradient: act.attentionOutputGradient, weightGradient: grads + p.attentionProjectionWeight,
                biasGradient: gradient(p.attentionProjectionBias), outputGradient: projectionGradient,
                input: a.attentionOutput, weight: weight(p.attentionProjectionWeight), ones: act.ones,
                rows: rows, inputSize: C, outputSize: C, context: context)
            zero(act.qkvGradient, rows * 3 * C)
            Kernels.attentionBackward(
                qkvGradient: act.qkvGradient, outputGradient: act.attentionOutputGradient, attention: a.attention,
                qkv: a.qkv, batch: B, length: T, channels: C, heads: NH, dropout: config.attentionDropout,
                dropoutSeed: siteSeed(dropoutSeed, layer: layer, site: 1), context: context)
            if config.normalization == .pre {
                zero(act.normGradient, rows * C)
                Kernels.linearBackward(
                    inputGradient: act.normGradient, weightGradient: grads + p.qkvWeight,
                    biasGradient: gradient(p.qkvBias), outputGradient: act.qkvGradient, input: a.firstNorm,
                    weight: weight(p.qkvWeight), ones: act.ones, rows: rows, inputSize: C, outputSize: 3 * C, context: context)
                Kernels.layerNormBackward(
                    inputGradient: stream, weightGradient: grads + p.firstNormWeight,
                    biasGradient: gradient(p.firstNormBias), outputGradient: act.normGradient, input: input,
                    weight: weight(p.firstNormWeight), mean: a.firstMean,
                    reciprocalStandardDeviation: a.firstReciprocalStd, rows: rows, channels: C, context: context)
            } else {
                Kernels.linearBackward(
                    inputGradient: stream, weightGradient: grads + p.qkvWeight, biasGradient: gradient(p.qkvBias),
                    outputGradient: act.qkvGradient, input: input, weight: weight(p.qkvWeight), ones: act.ones,
                    rows: rows, inputSize: C, outputSize: 3 * C, context: context)
            }
            // `stream` is now d (this block's input).
        }

        // Embedding dropout, then scatter into the token (and learned position) embeddings.
        if config.embeddingDropout > 0 {
            Kernels.dropout(
                output: stream, input: stream, count: rows * C, probability: config.embeddingDropout,
                seed: siteSeed(dropoutSeed, layer: -1, site: 0), context: context)
        }
        Kernels.embeddingBackward(
            tokenEmbeddingGradient: grads + layout.tokenEmbedding,
            positionEmbeddingGradient: gradient(layout.positionEmbedding), outputGradient: stream,
            tokens: act.tokens, batch: B, length: T, channels: C)
    }
}
