import GPTTensor

/// Buffers for cached inference, sized for `rows` new positions at once.
final class InferenceScratch {
    let rows: Int
    let batch: Int
    let storage: FloatBuffer
    let stream, norm, mean, reciprocalStd, qkv, attention, projection, up, activated, last, logits: UnsafeMutablePointer<Float>

    init(configuration: GPTConfiguration, rows: Int, batch: Int) {
        self.rows = rows
        self.batch = batch
        let C = configuration.embeddingSize
        let sizes = [rows * C, rows * C, rows, rows, rows * 3 * C, rows * C, rows * C, rows * 4 * C, rows * 4 * C, batch * C, batch * configuration.vocabularySize]
        storage = FloatBuffer(count: sizes.reduce(0, +))
        var cursor = storage.pointer
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            pointers.append(cursor)
            cursor += size
        }
        (stream, norm, mean, reciprocalStd, qkv, attention) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5])
        (projection, up, activated, last, logits) = (pointers[6], pointers[7], pointers[8], pointers[9], pointers[10])
    }
}

/// One block's matrices for inference.
public struct BlockWeights: Sendable {
    public var qkv: any WeightMatrix
    public var attentionProjection: any WeightMatrix
    public var mlpUp: any WeightMatrix
    public var mlpDown: any WeightMatrix
}

/// The matrices the inference path multiplies by — dense views of the parameters by default;
/// a quantized model replaces them (`GPTModel.inferenceWeights`).
public struct InferenceWeights: Sendable {
    public var blocks: [BlockWeights]
    public var unembedding: any WeightMatrix

    /// Dense Float32 views into `model`'s parameters.
    public init(dense model: GPTModel) {
        let weights = UnsafePointer(model.parameters.pointer)
        let C = model.configuration.embeddingSize
        blocks = model.layout.blocks.map { p in
            BlockWeights(
                qkv: DenseWeightMatrix(pointer: weights + p.qkvWeight, inputSize: C, outputSize: 3 * C),
                attentionProjection: DenseWeightMatrix(pointer: weights + p.attentionProjectionWeight, inputSize: C, outputSize: C),
                mlpUp: DenseWeightMatrix(pointer: weights + p.mlpUpWeight, inputSize: C, outputSize: 4 * C),
                mlpDown: DenseWeightMatrix(pointer: weights + p.mlpDownWeight, inputSize: 4 * C, outputSize: C))
        }
        unembedding = DenseWeightMatrix(
            pointer: weights + model.layout.outputWeight, inputSize: C, outputSize: model.configuration.vocabularySize,
            outputMajor: true)
    }

    /// Bytes of matrices read per decoded token.
    public var storageBytes: Int {
        blocks.reduce(unembedding.storageBytes) {
            $0 + $1.qkv.storageBytes + $1.attentionProjection.storageBytes + $1.mlpUp.storageBytes + $1.mlpDown.storageBytes
        }
    }
}

extension GPTModel {
    /// The matrices cached inference multiplies by: dense views of `parameters` (made once; the
    /// buffer never moves) unless replaced, e.g. by quantized matrices.
    public var inferenceWeights: InferenceWeights {
        get {
            if let weights = storedInferenceWeights { return weights }
            let dense = InferenceWeights(dense: self)
            storedInferenceWeights = dense
            return dense
        }
        set { storedInferenceWeights = newValue }
    }

    /// Runs `count` new tokens per cache row (`tokens` is batch × count, row-major) at positions
    /// cache.length ..< cache.length + count, appends their keys and values to `cache`, and
    /// returns the logits of each row's last new position (batch × V). The prompt goes through
    /// in one call (prefill); generation then calls this with one token per row (decode).
    public func forward(tokens: [Int32], count: Int, cache: KVCache, context: KernelContext) throws -> UnsafeBufferPointer<Float> {
        let config = configuration
        let (B, C, V, NH) = (cache.batch, config.embeddingSize, config.vocabularySize, config.heads)
        let past = cache.length
        let rows = B * count
        guard count > 0, tokens.count == rows else {
            throw ModelError("expected \(rows) tokens (\(B) rows × \(count)), got \(tokens.count)")
        }
        guard past + count <= cache.capacity else {
            throw ModelError("the cache holds \(past) of \(cache.capacity) positions; \(count) more do not fit")
        }
        for token in tokens where token < 0 || Int(token) >= V {
            throw ModelError("token id \(token) is outside the vocabulary of \(V)")
        }
        if inferenceScratch == nil || inferenceScratch!.rows < rows || inferenceScratch!.batch != B {
            inferenceScratch = InferenceScratch(configuration: config, rows: rows, batch: B)
        }
        let s = inferenceScratch!
        let weights = parameters.pointer
        let matrices = inferenceWeights
        func weight(_ offset: Int) -> UnsafePointer<Float> { UnsafePointer(weights + offset) }
        func bias(_ offset: Int?) -> UnsafePointer<Float>? { offset.map { UnsafePointer(weights + $0) } }
        func layerNorm(_ output: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ gain: Int, _ shift: Int?, rows: Int) {
            Kernels.layerNormForward(
                output: output, mean: s.mean, reciprocalStandardDeviation: s.reciprocalStd, input: input,
                weight: weight(gain), bias: bias(shift), rows: rows, channels: C, epsilon: config.layerNormEpsilon,
                context: context)
        }

        // Token embedding + position encoding at absolute positions past + i.
        tokens.withUnsafeBufferPointer { tokens in
            Kernels.embeddingForward(
                output: s.stream, tokens: tokens.baseAddress!, tokenEmbedding: weights + layout.tokenEmbedding,
                positionTable: positionTable + past * C, batch: B, length: count, channels: C, context: context)
        }

        for layer in 0..<config.layers {
            let p = layout.blocks[layer]
            let (keyCache, valueCache) = cache.pointers(layer: layer)
            var attentionInput = UnsafePointer(s.stream)
            if config.normalization == .pre {
                layerNorm(s.norm, s.stream, p.firstNormWeight, p.firstNormBias, rows: rows)
                attentionInput = UnsafePointer(s.norm)
            }
            let m = matrices.blocks[layer]
            m.qkv.apply(output: s.qkv, input: attentionInput, bias: bias(p.qkvBias), rows: rows, context: context)
            // Append this step's keys and values to the cache.
            let HS = C / NH
            for row in 0..<rows {
                let (b, i) = (row / count, row % count)
                for h in 0..<NH {
                    let slot = ((b * NH + h) * cache.capacity + past + i) * HS
                    (keyCache + slot).update(from: s.qkv + row * 3 * C + C + h * HS, count: HS)
                    (valueCache + slot).update(from: s.qkv + row * 3 * C + 2 * C + h * HS, count: HS)
                }
            }
            Kernels.cachedAttentionForward(
                output: s.attention, qkv: s.qkv, keyCache: keyCache, valueCache: valueCache, batch: B, count: count,
                past: past, capacity: cache.capacity, channels: C, heads: NH, context: context)
            m.attentionProjection.apply(
                output: s.projection, input: s.attention, bias: bias(p.attentionProjectionBias), rows: rows, context: context)
            Kernels.add(output: s.stream, s.stream, s.projection, count: rows * C, context: context)
            var mlpInput = UnsafePointer(s.stream)
            if config.normalization == .pre {
                layerNorm(s.norm, s.stream, p.secondNormWeight, p.secondNormBias, rows: rows)
                mlpInput = UnsafePointer(s.norm)
            } else {
                layerNorm(s.stream, s.stream, p.firstNormWeight, p.firstNormBias, rows: rows)
            }
            m.mlpUp.apply(output: s.up, input: mlpInput, bias: bias(p.mlpUpBias), rows: rows, context: context)
            Kernels.activationForward(
                output: s.activated, input: s.up, count: rows * 4 * C, activation: config.activation, context: context)
            m.mlpDown.apply(output: s.projection, input: s.activated, bias: bias(p.mlpDownBias), rows: rows, context: context)
            Kernels.add(output: s.stream, s.stream, s.projection, count: rows * C, context: context)
            if config.normalization == .post {
                layerNorm(s.stream, s.stream, p.secondNormWeight, p.secondNormBias, rows: rows)
            }
        }
        cache.length = past + count

        // Final LayerNorm and unembedding of each row's last position only.
        for b in 0..<B {
            (s.last + b * C).update(from: s.stream + (b * count + count - 1) * C, count: C)
        }
        layerNorm(s.last, s.last, layout.finalNormWeight, layout.finalNormBias, rows: B)
        for b in 0..<B {
            matrices.unembedding.apply(output: s.logits + b * V, input: s.last + b * C, bias: nil, rows: 1, context: context)
        }
        return UnsafeBufferPointer(start: s.logits, count: B * V)
    }
}
