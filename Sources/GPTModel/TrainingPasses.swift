import GPTTensor

/// The block's operations for a full-sequence pass over the fp32 parameters: each writes its
/// result into its own slot of `Activations` (so backward can read it), and records where it read
/// inputs that depend on the norm placement.
struct TrainingForward: ModelOperations {
    let model: GPT
    let activations: Activations
    /// The matrices in bf16 (mixed precision), or nil to multiply by the model's own.
    let halfWeights: BFloat16Weights?
    let context: KernelContext
    let batch: Int
    let length: Int
    let dropout: Dropout
    let dropoutSeed: UInt64
    let lastPositionOnly: Bool
    let observer: AttentionObserver?
    /// An adapter's low-rank updates, added after each adapted matrix.
    let lora: LoRAPass?
    private var layer = 0

    init(
        model: GPT, activations: Activations, halfWeights: BFloat16Weights?, context: KernelContext, batch: Int, length: Int,
        dropout: Dropout, dropoutSeed: UInt64, lastPositionOnly: Bool, observer: AttentionObserver?, lora: LoRAPass?
    ) {
        self.model = model
        self.activations = activations
        self.halfWeights = halfWeights
        self.context = context
        self.batch = batch
        self.length = length
        self.dropout = dropout
        self.dropoutSeed = dropoutSeed
        self.lastPositionOnly = lastPositionOnly
        self.observer = observer
        self.lora = lora
    }

    private var rows: Int { batch * length }
    private var channels: Int { model.configuration.embeddingSize }
    private var weights: UnsafePointer<Float> { UnsafePointer(model.parameters.pointer) }

    mutating func enter(layer: Int) {
        self.layer = layer
    }

    mutating func embed() -> UnsafePointer<Float> {
        let act = activations
        if model.storesMatrices {
            Kernels.embeddingForward(
                output: act.embedded, tokens: act.tokens.pointer, tokenEmbedding: weights + model.layout.tokenEmbedding,
                positionTable: model.positionTable, batch: batch, length: length, channels: channels, context: context)
        } else {
            // Matrices stored elsewhere (a quantized file): the table's rows, whatever their type, + positions.
            model.inferenceWeights.tokenEmbedding.copyWeights(ofOutputs: act.tokens.pointer, count: rows, into: act.embedded)
            for b in 0..<batch {
                let row = act.embedded + b * length * channels
                Kernels.add(output: row, UnsafePointer(row), model.positionTable, count: length * channels, context: context)
            }
        }
        if dropout.embedding > 0 {
            Kernels.dropout(
                output: act.embedded, input: act.embedded, count: rows * channels, probability: dropout.embedding,
                seed: Dropout.seed(dropoutSeed, layer: -1, site: 0), context: context)
        }
        return UnsafePointer(act.embedded)
    }

    mutating func norm(_ site: NormSite, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let act = activations
        let slots: (output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>)
        switch site {
        case .first:
            act.blocks[layer].firstNormInput = input
            slots = (act.blocks[layer].firstNorm, act.blocks[layer].firstMean, act.blocks[layer].firstReciprocalStd)
        case .second:
            act.blocks[layer].secondNormInput = input
            slots = (act.blocks[layer].secondNorm, act.blocks[layer].secondMean, act.blocks[layer].secondReciprocalStd)
        case .final:
            act.finalNormInput = input
            slots = (act.finalNorm, act.finalMean, act.finalReciprocalStd)
        }
        let (weight, bias) = model.layout.norm(site, layer: layer)
        Kernels.layerNormForward(
            output: slots.output, mean: slots.mean, reciprocalStandardDeviation: slots.rstd, input: input,
            weight: weights + weight, bias: bias.map { weights + $0 }, rows: rows, channels: channels,
            epsilon: model.configuration.layerNormEpsilon, context: context)
        return UnsafePointer(slots.output)
    }

    mutating func linear(_ matrix: BlockMatrix, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let output: UnsafeMutablePointer<Float>
        switch matrix {
        case .qkv:
            activations.blocks[layer].qkvInput = input
            output = activations.blocks[layer].qkv
        case .attentionProjection: output = activations.blocks[layer].attentionProjection
        case .mlpUp:
            activations.blocks[layer].mlpUpInput = input
            output = activations.blocks[layer].mlpUp
        case .mlpDown: output = activations.blocks[layer].mlpDown
        }
        // The model's matrices as stored: dense views of the parameters, or a quantized file's.
        let bias = model.layout.blocks[layer].matrix(matrix).bias.map { weights + $0 }
        if let halfWeights {
            Kernels.bf16LinearForward(
                output: output, input: input, weight: halfWeights.block(layer, matrix).forward, bias: bias, rows: rows,
                context: context)
        } else {
            model.inferenceWeights.blocks[layer][matrix].apply(output: output, input: input, bias: bias, rows: rows, context: context)
        }
        lora?.forward(layer: layer, matrix: matrix, input: input, output: output, rows: rows)
        return UnsafePointer(output)
    }

    mutating func attend(_ qkv: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let a = activations.blocks[layer]
        let (T, NH) = (length, model.configuration.headCount)
        Kernels.attentionForward(
            output: a.attentionOutput, attention: a.attention, qkv: qkv, batch: batch, length: T, channels: channels,
            heads: NH, dropout: dropout.attention, dropoutSeed: Dropout.seed(dropoutSeed, layer: layer, site: 1),
            context: context)
        if let observer {
            // Read-only: the probabilities this forward pass itself mixes the values with.
            for b in 0..<batch {
                for h in 0..<NH {
                    observer(layer, b, h, UnsafeBufferPointer(start: a.attention + (b * NH + h) * T * T, count: T * T))
                }
            }
        }
        return UnsafePointer(a.attentionOutput)
    }

    mutating func activate(_ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let output = activations.blocks[layer].mlpActivated
        Kernels.activationForward(
            output: output, input: input, count: rows * model.configuration.mlpSize,
            activation: model.configuration.activation, context: context)
        return UnsafePointer(output)
    }

    mutating func residual(_ stream: UnsafePointer<Float>, adding branch: UnsafePointer<Float>, from: ResidualBranch)
        -> UnsafePointer<Float>
    {
        let count = rows * channels
        if dropout.residual > 0 {
            // The branch's output is this pass's own slot (attentionProjection or mlpDown): dropped in place.
            let slot = UnsafeMutablePointer(mutating: branch)
            Kernels.dropout(
                output: slot, input: branch, count: count, probability: dropout.residual,
                seed: Dropout.seed(dropoutSeed, layer: layer, site: from.rawValue), context: context)
        }
        let a = activations.blocks[layer]
        let output = from == .attention ? a.firstResidual : a.secondResidual
        Kernels.add(output: output, stream, branch, count: count, context: context)
        return UnsafePointer(output)
    }

    mutating func outputRows(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
        x
    }

    mutating func unembed(_ x: UnsafePointer<Float>) {
        let (C, V) = (channels, model.configuration.vocabularySize)
        let logits = activations.logits
        let matrix = model.inferenceWeights.unembedding
        if lastPositionOnly {
            for b in 0..<batch {
                let row = b * length + length - 1
                matrix.apply(output: logits + row * V, input: x + row * C, bias: nil, rows: 1, context: context)
                lora?.forwardUnembedding(input: x + row * C, output: logits + row * V, row: row, rows: 1)
            }
        } else {
            if let halfWeights {
                Kernels.bf16LinearForward(
                    output: logits, input: x, weight: halfWeights.unembedding.forward, bias: nil, rows: rows, context: context)
            } else {
                matrix.apply(output: logits, input: x, bias: nil, rows: rows, context: context)
            }
            lora?.forwardUnembedding(input: x, output: logits, rows: rows)
        }
    }
}

/// The mirror of `TrainingForward`: reads what it saved and accumulates (+=) parameter gradients.
/// Each operation's d input goes to a backward scratch buffer that it zeroes first. Without
/// `gradients` the model is frozen (an adapter is trained): only d inputs flow, and the adapter's
/// gradients accumulate.
struct TrainingBackward: ModelGradientOperations {
    let model: GPT
    let activations: Activations
    /// The matrices the forward pass multiplied by in bf16 (nil: fp32).
    let halfWeights: BFloat16Weights?
    let gradients: UnsafeMutablePointer<Float>?
    let lora: LoRAPass?
    let context: KernelContext
    let batch: Int
    let length: Int
    let dropout: Dropout
    let dropoutSeed: UInt64
    /// Told, as backward goes, that the gradients from an offset to the end of the layout are final.
    let gradientsFinal: ((Int) -> Void)?
    private var layer = 0
    /// The spare stream buffer a post-norm backward swaps with.
    private var spare: UnsafeMutablePointer<Float>

    init(
        model: GPT, activations: Activations, halfWeights: BFloat16Weights?, gradients: UnsafeMutablePointer<Float>?,
        lora: LoRAPass?, context: KernelContext, batch: Int, length: Int, dropout: Dropout, dropoutSeed: UInt64,
        gradientsFinal: ((Int) -> Void)? = nil
    ) {
        self.gradientsFinal = gradientsFinal
        self.model = model
        self.activations = activations
        self.halfWeights = halfWeights
        self.gradients = gradients
        self.lora = lora
        self.context = context
        self.batch = batch
        self.length = length
        self.dropout = dropout
        self.dropoutSeed = dropoutSeed
        spare = activations.otherStreamGradient
    }

    private var rows: Int { batch * length }
    private var channels: Int { model.configuration.embeddingSize }
    private var weights: UnsafePointer<Float> { UnsafePointer(model.parameters.pointer) }

    private func zeroed(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) -> UnsafeMutablePointer<Float> {
        pointer.update(repeating: 0, count: count)
        return pointer
    }

    mutating func enter(layer: Int) {
        self.layer = layer
        // Backward runs the layout's order in reverse (embeddings, blocks, final norm, lm_head), so
        // everything after this block is done — except a tied unembedding, which is the token
        // embedding at the layout's start.
        gradientsFinal?(model.layout.range(of: .block(layer)).upperBound)
    }

    mutating func unembedBackward() -> UnsafePointer<Float> {
        // With tied embeddings this accumulates into the token embedding's gradient.
        let act = activations
        let (C, V) = (channels, model.configuration.vocabularySize)
        let normGradient = zeroed(act.normGradient, rows * C)
        if let halfWeights {
            Kernels.bf16LinearInputGradient(
                inputGradient: normGradient, outputGradient: act.logitsGradient,
                transposedWeight: halfWeights.unembedding.backward, rows: rows, context: context)
            if let gradients {
                Kernels.bf16LinearWeightGradient(
                    weightGradient: gradients + model.layout.outputWeight, biasGradient: nil, outputGradient: act.logitsGradient,
                    input: act.finalNorm, ones: act.ones, rows: rows, inputSize: C, outputSize: V, weightIsOutputMajor: true,
                    context: context)
            }
        } else if let gradients {
            Kernels.linearBackward(
                inputGradient: normGradient, weightGradient: gradients + model.layout.outputWeight, biasGradient: nil,
                outputGradient: act.logitsGradient, input: act.finalNorm, weight: weights + model.layout.outputWeight,
                ones: act.ones, rows: rows, inputSize: C, outputSize: V, weightIsOutputMajor: true, context: context)
        } else {
            // Frozen (dense or quantized): d input only.
            model.inferenceWeights.unembedding.accumulateInputGradient(
                normGradient, outputGradient: act.logitsGradient, rows: rows, context: context)
        }
        lora?.backwardUnembedding(outputGradient: act.logitsGradient, input: act.finalNorm, inputGradient: normGradient, rows: rows)
        return UnsafePointer(normGradient)
    }

    mutating func streamGradient() -> UnsafeMutablePointer<Float> {
        zeroed(activations.streamGradient, rows * channels)
    }

    mutating func branchGradient(_ stream: UnsafePointer<Float>, from: ResidualBranch) -> UnsafePointer<Float> {
        guard dropout.residual > 0 else { return stream }
        Kernels.dropout(
            output: activations.projectionGradient, input: stream, count: rows * channels,
            probability: dropout.residual, seed: Dropout.seed(dropoutSeed, layer: layer, site: from.rawValue),
            context: context)
        return UnsafePointer(activations.projectionGradient)
    }

    mutating func linearBackward(_ matrix: BlockMatrix, _ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let act = activations
        let a = act.blocks[layer]
        let shape = model.configuration.shape(of: matrix)
        let (inputGradient, input): (UnsafeMutablePointer<Float>, UnsafePointer<Float>)
        switch matrix {
        case .qkv: (inputGradient, input) = (act.normGradient, a.qkvInput!)
        case .attentionProjection: (inputGradient, input) = (act.attentionOutputGradient, UnsafePointer(a.attentionOutput))
        case .mlpUp: (inputGradient, input) = (act.normGradient, a.mlpUpInput!)
        case .mlpDown: (inputGradient, input) = (act.mlpActivatedGradient, UnsafePointer(a.mlpActivated))
        }
        let (weight, bias) = model.layout.blocks[layer].matrix(matrix)
        if let halfWeights {
            Kernels.bf16LinearInputGradient(
                inputGradient: zeroed(inputGradient, rows * shape.input), outputGradient: outputGradient,
                transposedWeight: halfWeights.block(layer, matrix).backward, rows: rows, context: context)
            if let gradients {
                Kernels.bf16LinearWeightGradient(
                    weightGradient: gradients + weight, biasGradient: bias.map { gradients + $0 }, outputGradient: outputGradient,
                    input: input, ones: act.ones, rows: rows, inputSize: shape.input, outputSize: shape.output, context: context)
            }
        } else if let gradients {
            Kernels.linearBackward(
                inputGradient: zeroed(inputGradient, rows * shape.input), weightGradient: gradients + weight,
                biasGradient: bias.map { gradients + $0 }, outputGradient: outputGradient, input: input,
                weight: weights + weight, ones: act.ones, rows: rows, inputSize: shape.input, outputSize: shape.output,
                context: context)
        } else {
            // A frozen matrix (dense or quantized): d input through it, no weight gradient.
            model.inferenceWeights.blocks[layer][matrix].accumulateInputGradient(
                zeroed(inputGradient, rows * shape.input), outputGradient: outputGradient, rows: rows, context: context)
        }
        lora?.backward(
            layer: layer, matrix: matrix, outputGradient: outputGradient, input: input, inputGradient: inputGradient, rows: rows)
        return UnsafePointer(inputGradient)
    }

    mutating func attendBackward(_ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let a = activations.blocks[layer]
        let qkvGradient = zeroed(activations.qkvGradient, rows * 3 * channels)
        Kernels.attentionBackward(
            qkvGradient: qkvGradient, outputGradient: outputGradient, attention: a.attention, qkv: a.qkv,
            batch: batch, length: length, channels: channels, heads: model.configuration.headCount,
            dropout: dropout.attention, dropoutSeed: Dropout.seed(dropoutSeed, layer: layer, site: 1), context: context)
        return UnsafePointer(qkvGradient)
    }

    mutating func activateBackward(_ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let count = rows * model.configuration.mlpSize
        let inputGradient = zeroed(activations.mlpUpGradient, count)
        Kernels.activationBackward(
            inputGradient: inputGradient, outputGradient: outputGradient, input: activations.blocks[layer].mlpUp,
            count: count, activation: model.configuration.activation, context: context)
        return UnsafePointer(inputGradient)
    }

    mutating func normBackward(_ site: NormSite, _ outputGradient: UnsafePointer<Float>, into stream: UnsafeMutablePointer<Float>) {
        let act = activations
        let saved: (input: UnsafePointer<Float>?, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>)
        switch site {
        case .first: saved = (act.blocks[layer].firstNormInput, act.blocks[layer].firstMean, act.blocks[layer].firstReciprocalStd)
        case .second: saved = (act.blocks[layer].secondNormInput, act.blocks[layer].secondMean, act.blocks[layer].secondReciprocalStd)
        case .final: saved = (act.finalNormInput, act.finalMean, act.finalReciprocalStd)
        }
        let (weight, bias) = model.layout.norm(site, layer: layer)
        Kernels.layerNormBackward(
            inputGradient: stream, weightGradient: gradients.map { $0 + weight },
            biasGradient: bias.flatMap { bias in gradients.map { $0 + bias } },
            outputGradient: outputGradient, input: saved.input!, weight: weights + weight, mean: saved.mean,
            reciprocalStandardDeviation: saved.rstd, rows: rows, channels: channels, context: context)
    }

    mutating func normBackward(_ site: NormSite, replacing stream: inout UnsafeMutablePointer<Float>) {
        let inputGradient = zeroed(spare, rows * channels)
        normBackward(site, stream, into: inputGradient)
        spare = stream
        stream = inputGradient
    }

    mutating func accumulate(_ gradient: UnsafePointer<Float>, into stream: UnsafeMutablePointer<Float>) {
        Kernels.accumulate(stream, gradient, count: rows * channels, context: context)
    }

    mutating func embedBackward(_ stream: UnsafeMutablePointer<Float>) {
        guard let gradients else { return }  // frozen embeddings: nothing below them to reach
        // Embedding dropout, then scatter into the token (and learned position) embeddings.
        if dropout.embedding > 0 {
            Kernels.dropout(
                output: stream, input: stream, count: rows * channels, probability: dropout.embedding,
                seed: Dropout.seed(dropoutSeed, layer: -1, site: 0), context: context)
        }
        Kernels.embeddingBackward(
            tokenEmbeddingGradient: gradients + model.layout.tokenEmbedding,
            positionEmbeddingGradient: model.layout.positionEmbedding.map { gradients + $0 }, outputGradient: stream,
            tokens: activations.tokens.pointer, batch: batch, length: length, channels: channels, context: context)
        gradientsFinal?(0)
    }
}
