import Foundation
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
    public var layerCount: Int
    public var headCount: Int
    /// Dropout after the embedding, on the attention probabilities, and on each residual branch.
    public var embeddingDropout: Float
    public var attentionDropout: Float
    public var residualDropout: Float
    /// Biases in the linear layers and LayerNorms.
    public var usesBias: Bool
    public var position: PositionEncoding
    public var normalization: Normalization
    public var activation: Activation
    /// The unembedding reuses the token embedding matrix.
    public var tiesEmbeddings: Bool
    public var layerNormEpsilon: Float
    /// The MLP's hidden width (`n_inner`; GPT-2: four times the embedding size).
    public var mlpSize: Int

    public init(
        vocabularySize: Int, contextLength: Int, embeddingSize: Int, layerCount: Int, headCount: Int, mlpSize: Int? = nil,
        dropout: Float = 0, usesBias: Bool = true, position: PositionEncoding = .learned,
        normalization: Normalization = .pre, activation: Activation = .gelu, tiesEmbeddings: Bool = true,
        layerNormEpsilon: Float = 1e-5
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.embeddingSize = embeddingSize
        self.layerCount = layerCount
        self.headCount = headCount
        embeddingDropout = dropout
        attentionDropout = dropout
        residualDropout = dropout
        self.usesBias = usesBias
        self.position = position
        self.normalization = normalization
        self.activation = activation
        self.tiesEmbeddings = tiesEmbeddings
        self.layerNormEpsilon = layerNormEpsilon
        self.mlpSize = mlpSize ?? 4 * embeddingSize
    }

    public var headSize: Int { embeddingSize / headCount }

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

    /// Checks sizes and rates; `InvalidValue` names the field by its `config.json` key.
    public func validate() throws {
        let validator = Validator(owner: "GPTConfiguration")
        func require(_ condition: Bool, _ key: CodingKeys, _ rule: String, _ value: (any Sendable)? = nil) throws {
            try validator.require(condition, key.rawValue, rule, value)
        }
        try require(vocabularySize > 0, .vocabularySize, "must be positive", vocabularySize)
        try require(contextLength > 0, .contextLength, "must be positive", contextLength)
        try require(layerCount > 0, .layerCount, "must be positive", layerCount)
        try require(headCount > 0, .headCount, "must be positive", headCount)
        try require(embeddingSize > 0, .embeddingSize, "must be positive", embeddingSize)
        try require(embeddingSize % headCount == 0, .embeddingSize, "must be divisible by n_head \(headCount)", embeddingSize)
        try require(mlpSize > 0, .mlpSize, "must be positive", mlpSize)
        try require(embeddingDropout >= 0 && embeddingDropout < 1, .embeddingDropout, "must be in [0, 1)", embeddingDropout)
        try require(attentionDropout >= 0 && attentionDropout < 1, .attentionDropout, "must be in [0, 1)", attentionDropout)
        try require(residualDropout >= 0 && residualDropout < 1, .residualDropout, "must be in [0, 1)", residualDropout)
        try require(layerNormEpsilon > 0 && layerNormEpsilon.isFinite, .layerNormEpsilon, "must be positive", layerNormEpsilon)
        // The weights must fit in this machine's memory: refuse before allocating, not by crashing.
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        let (parameters, culprit) = Self.parameterCount(self)
        let bytes = parameters.flatMap { CheckedSize.product($0, 4) }
        // Blame the size furthest beyond what the largest models use.
        let sizes: [(CodingKeys, Int, Double)] = [
            (.layerCount, layerCount, 96), (.embeddingSize, embeddingSize, 12_288), (.mlpSize, mlpSize, 49_152),
            (.vocabularySize, vocabularySize, 256_000), (.contextLength, contextLength, 131_072),
        ]
        let largest = sizes.max { Double($0.1) / $0.2 < Double($1.1) / $1.2 }!
        let (key, value) = culprit.flatMap { key in sizes.first { $0.0 == key }.map { ($0.0, $0.1) } } ?? (largest.0, largest.1)
        try require(
            bytes.map { $0 < memory } ?? false, key,
            "makes \(parameters.map { "\($0) parameters (\(CheckedSize.describe(bytes: $0 * 4)))" } ?? "more parameters than any machine holds"), more than this machine's \(CheckedSize.describe(bytes: memory))",
            value)
    }

    /// The parameter count (an upper bound: biases and norms counted for every layout), or nil and
    /// the size that made it overflow.
    static func parameterCount(_ c: GPTConfiguration) -> (Int?, CodingKeys?) {
        let (C, H) = (c.embeddingSize, c.mlpSize)
        guard let square = CheckedSize.product(4, C, C) else { return (nil, .embeddingSize) }
        guard let mlp = CheckedSize.product(2, C, H) else { return (nil, C >= H ? .embeddingSize : .mlpSize) }
        guard let perLayer = CheckedSize.sum(square, mlp, 16 * C, H) else { return (nil, .embeddingSize) }
        guard let blocks = CheckedSize.product(c.layerCount, perLayer) else { return (nil, .layerCount) }
        guard let tokens = CheckedSize.product(2, c.vocabularySize, C) else { return (nil, .vocabularySize) }
        guard let positions = CheckedSize.product(c.contextLength, C) else { return (nil, .contextLength) }
        guard let total = CheckedSize.sum(blocks, tokens, positions) else { return (nil, .layerCount) }
        return (total, nil)
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
