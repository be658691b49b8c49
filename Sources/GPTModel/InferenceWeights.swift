import GPTTensor

/// One block's matrices for inference.
public struct BlockWeights: Sendable {
    public var qkv: any WeightMatrix
    public var attentionProjection: any WeightMatrix
    public var mlpUp: any WeightMatrix
    public var mlpDown: any WeightMatrix

    public subscript(matrix: BlockMatrix) -> any WeightMatrix {
        switch matrix {
        case .qkv: qkv
        case .attentionProjection: attentionProjection
        case .mlpUp: mlpUp
        case .mlpDown: mlpDown
        }
    }
}

/// The matrices the inference path multiplies by: dense views of the parameters today, the
/// seam where quantized or half-precision matrices (anything implementing `WeightMatrix`) plug in.
public struct InferenceWeights: Sendable {
    public var blocks: [BlockWeights]
    /// The token embedding read as a matrix of V outputs × C inputs: row `token` is its vector.
    public var tokenEmbedding: any WeightMatrix
    public var unembedding: any WeightMatrix

    public init(blocks: [BlockWeights], tokenEmbedding: any WeightMatrix, unembedding: any WeightMatrix) {
        self.blocks = blocks
        self.tokenEmbedding = tokenEmbedding
        self.unembedding = unembedding
    }

    /// Dense Float32 views into `parameters` laid out as `layout`.
    public init(dense parameters: FloatBuffer, layout: ParameterLayout, configuration: GPTConfiguration) {
        let weights = UnsafePointer(parameters.pointer)
        func dense(_ offset: Int, _ matrix: BlockMatrix) -> DenseWeightMatrix {
            let shape = configuration.shape(of: matrix)
            return DenseWeightMatrix(pointer: weights + offset, inputSize: shape.input, outputSize: shape.output)
        }
        blocks = layout.blocks.map { p in
            BlockWeights(
                qkv: dense(p.qkvWeight, .qkv),
                attentionProjection: dense(p.attentionProjectionWeight, .attentionProjection),
                mlpUp: dense(p.mlpUpWeight, .mlpUp),
                mlpDown: dense(p.mlpDownWeight, .mlpDown))
        }
        tokenEmbedding = DenseWeightMatrix(
            pointer: weights + layout.tokenEmbedding, inputSize: configuration.embeddingSize,
            outputSize: configuration.vocabularySize, outputMajor: true)
        unembedding = DenseWeightMatrix(
            pointer: weights + layout.outputWeight, inputSize: configuration.embeddingSize,
            outputSize: configuration.vocabularySize, outputMajor: true)
    }

    /// Bytes of matrices read per decoded token (the token embedding's one row is left out).
    public var storageBytes: Int {
        blocks.reduce(unembedding.storageBytes) {
            $0 + $1.qkv.storageBytes + $1.attentionProjection.storageBytes + $1.mlpUp.storageBytes + $1.mlpDown.storageBytes
        }
    }
}
