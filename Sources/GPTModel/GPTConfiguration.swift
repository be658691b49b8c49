import GPTTensor

/// How positions enter the model.
public enum PositionEncoding: String, Codable, Sendable, CaseIterable {
    /// A trained embedding per position (GPT-2's `wpe`).
    case learned
    /// Fixed sines and cosines of geometric frequencies (the original transformer).
    case sinusoidal
}

/// Where each block's LayerNorms sit.
public enum Normalization: String, Codable, Sendable, CaseIterable {
    /// Before attention and before the MLP, inside the residual branch (GPT-2).
    case pre
    /// After each residual addition (the original transformer).
    case post
}

/// The shape and architecture switches of a GPT model.
public struct GPTConfiguration: Equatable, Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var embeddingSize: Int
    public var layers: Int
    public var heads: Int
    /// Dropout after the embedding, on the attention probabilities, and on each residual branch.
    public var embeddingDropout: Float
    public var attentionDropout: Float
    public var residualDropout: Float
    /// Biases in the linear layers and LayerNorms.
    public var bias: Bool
    public var position: PositionEncoding
    public var normalization: Normalization
    public var activation: Activation
    /// The unembedding reuses the token embedding matrix.
    public var tieEmbeddings: Bool
    public var layerNormEpsilon: Float

    public init(
        vocabularySize: Int, contextLength: Int, embeddingSize: Int, layers: Int, heads: Int,
        dropout: Float = 0, bias: Bool = true, position: PositionEncoding = .learned,
        normalization: Normalization = .pre, activation: Activation = .gelu, tieEmbeddings: Bool = true,
        layerNormEpsilon: Float = 1e-5
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.embeddingSize = embeddingSize
        self.layers = layers
        self.heads = heads
        embeddingDropout = dropout
        attentionDropout = dropout
        residualDropout = dropout
        self.bias = bias
        self.position = position
        self.normalization = normalization
        self.activation = activation
        self.tieEmbeddings = tieEmbeddings
        self.layerNormEpsilon = layerNormEpsilon
    }

    public var headSize: Int { embeddingSize / heads }
    /// The MLP's hidden width (GPT-2: four times the embedding size).
    public var mlpSize: Int { 4 * embeddingSize }

    /// (input, output) sizes of one of a block's matrices.
    public func shape(of matrix: BlockMatrix) -> (input: Int, output: Int) {
        switch matrix {
        case .qkv: (embeddingSize, 3 * embeddingSize)
        case .attentionProjection: (embeddingSize, embeddingSize)
        case .mlpUp: (embeddingSize, mlpSize)
        case .mlpDown: (mlpSize, embeddingSize)
        }
    }

    /// A configuration that Hugging Face's GPT-2 can express exactly.
    public var isGPT2Compatible: Bool {
        position == .learned && normalization == .pre && activation == .gelu
    }

    /// Checks the sizes; the message names the field and the fix.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ModelError(message) }
        }
        try require(vocabularySize > 0, "vocabulary size must be positive (got \(vocabularySize))")
        try require(contextLength > 0, "context length must be positive (got \(contextLength))")
        try require(layers > 0, "the number of layers must be positive (got \(layers))")
        try require(heads > 0, "the number of heads must be positive (got \(heads))")
        try require(embeddingSize > 0, "embedding size must be positive (got \(embeddingSize))")
        try require(
            embeddingSize % heads == 0,
            "embedding size \(embeddingSize) must be divisible by the number of heads \(heads)")
        for (name, rate) in [("embedding", embeddingDropout), ("attention", attentionDropout), ("residual", residualDropout)] {
            try require(rate >= 0 && rate < 1, "\(name) dropout must be in [0, 1) (got \(rate))")
        }
        try require(layerNormEpsilon > 0, "layer_norm_epsilon must be positive")
    }
}

/// A problem with a model (its configuration, its weights, or how it is called), phrased for the user.
public struct ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
