/// Where a parameter tensor belongs in the model.
public enum ParameterGroup: Sendable, Equatable {
    case tokenEmbedding, positionEmbedding
    /// A tensor of block `layer`.
    case block(Int)
    case finalNorm
    /// A separate unembedding (`lm_head`; tied models have none).
    case unembedding
    /// A tensor of a layout made from a plain list (`init(tensors:)`).
    case other
}

/// One named parameter tensor inside the flat parameter buffer.
public struct ParameterTensor: Sendable, Equatable {
    /// The tensor's name in GPT-2 checkpoints (`h.0.attn.c_attn.weight`, …).
    public let name: String
    public let group: ParameterGroup
    /// GPT-2's layout: Conv1D weights are [in, out]; embeddings and `lm_head` are [rows, C].
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// Matrices (2-D) get weight decay; biases and LayerNorm gains do not.
    public var decays: Bool { shape.count == 2 }
}

/// Offsets of one transformer block's parameters in the flat buffer.
/// "first" and "second" LayerNorm are GPT-2's ln_1 and ln_2: before attention and
/// before the MLP with pre-norm, after each residual addition with post-norm.
public struct BlockParameters: Sendable, Equatable {
    public var firstNormWeight = 0, firstNormBias: Int?
    public var qkvWeight = 0, qkvBias: Int?
    public var attentionProjectionWeight = 0, attentionProjectionBias: Int?
    public var secondNormWeight = 0, secondNormBias: Int?
    public var mlpUpWeight = 0, mlpUpBias: Int?
    public var mlpDownWeight = 0, mlpDownBias: Int?
}

extension BlockParameters {
    /// Offsets of one of the block's matrices and its bias.
    public func matrix(_ matrix: BlockMatrix) -> (weight: Int, bias: Int?) {
        switch matrix {
        case .qkv: (qkvWeight, qkvBias)
        case .attentionProjection: (attentionProjectionWeight, attentionProjectionBias)
        case .mlpUp: (mlpUpWeight, mlpUpBias)
        case .mlpDown: (mlpDownWeight, mlpDownBias)
        }
    }
}

/// The single table of (name, shape, offset) that drives the parameter buffer, the
/// gradient buffer, the optimizer moments, clipping, checkpoint IO and test comparisons.
public struct ParameterLayout: Sendable, Equatable {
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var count = 0
    public private(set) var tokenEmbedding = 0
    public private(set) var positionEmbedding: Int?
    public private(set) var blocks: [BlockParameters] = []
    public private(set) var finalNormWeight = 0
    public private(set) var finalNormBias: Int?
    /// The unembedding (V, C): the token embedding itself when tied.
    public private(set) var outputWeight = 0

    /// The layout of `configuration`'s parameters. Without `matrices` it holds only the vectors
    /// (LayerNorms, biases) and the learned position table: the layout of a model whose matrices
    /// live elsewhere (a quantized GGUF file); the matrices' offsets are then meaningless.
    public init(_ configuration: GPTConfiguration, matrices: Bool = true) {
        let C = configuration.embeddingSize
        let H = configuration.mlpSize
        let V = configuration.vocabularySize
        let bias = configuration.usesBias
        func matrix(_ name: String, _ shape: [Int], _ group: ParameterGroup) -> Int {
            matrices ? add(name, shape, group) : 0
        }
        tokenEmbedding = matrix("wte.weight", [V, C], .tokenEmbedding)
        if configuration.position == .learned {
            positionEmbedding = add("wpe.weight", [configuration.contextLength, C], .positionEmbedding)
        }
        for layer in 0..<configuration.layerCount {
            let prefix = "h.\(layer)."
            func add(_ name: String, _ shape: [Int]) -> Int { self.add(name, shape, .block(layer)) }
            var block = BlockParameters()
            block.firstNormWeight = add(prefix + "ln_1.weight", [C])
            block.firstNormBias = bias ? add(prefix + "ln_1.bias", [C]) : nil
            block.qkvWeight = matrix(prefix + "attn.c_attn.weight", [C, 3 * C], .block(layer))
            block.qkvBias = bias ? add(prefix + "attn.c_attn.bias", [3 * C]) : nil
            block.attentionProjectionWeight = matrix(prefix + "attn.c_proj.weight", [C, C], .block(layer))
            block.attentionProjectionBias = bias ? add(prefix + "attn.c_proj.bias", [C]) : nil
            block.secondNormWeight = add(prefix + "ln_2.weight", [C])
            block.secondNormBias = bias ? add(prefix + "ln_2.bias", [C]) : nil
            block.mlpUpWeight = matrix(prefix + "mlp.c_fc.weight", [C, H], .block(layer))
            block.mlpUpBias = bias ? add(prefix + "mlp.c_fc.bias", [H]) : nil
            block.mlpDownWeight = matrix(prefix + "mlp.c_proj.weight", [H, C], .block(layer))
            block.mlpDownBias = bias ? add(prefix + "mlp.c_proj.bias", [C]) : nil
            blocks.append(block)
        }
        finalNormWeight = add("ln_f.weight", [C], .finalNorm)
        finalNormBias = bias ? add("ln_f.bias", [C], .finalNorm) : nil
        outputWeight = configuration.tiesEmbeddings ? tokenEmbedding : matrix("lm_head.weight", [V, C], .unembedding)
    }

    /// A layout of arbitrary named tensors (optimizer tests, other models).
    public init(tensors: [(name: String, shape: [Int])]) {
        for tensor in tensors { _ = add(tensor.name, tensor.shape, .other) }
    }

    private mutating func add(_ name: String, _ shape: [Int], _ group: ParameterGroup) -> Int {
        let tensor = ParameterTensor(name: name, group: group, shape: shape, offset: count)
        tensors.append(tensor)
        count += tensor.count
        return tensor.offset
    }

    /// Offsets of a LayerNorm's gain and bias: a block's (`layer`) or the final one.
    public func norm(_ site: NormSite, layer: Int) -> (weight: Int, bias: Int?) {
        switch site {
        case .first: (blocks[layer].firstNormWeight, blocks[layer].firstNormBias)
        case .second: (blocks[layer].secondNormWeight, blocks[layer].secondNormBias)
        case .final: (finalNormWeight, finalNormBias)
        }
    }

    /// The tensor called `name`, if the layout has one.
    /// The span of the layout that `group`'s tensors occupy (they are contiguous); empty at 0 when it has none.
    public func range(of group: ParameterGroup) -> Range<Int> {
        let members = tensors.filter { $0.group == group }
        guard let first = members.map(\.offset).min(), let end = members.map({ $0.offset + $0.count }).max() else { return 0..<0 }
        return first..<end
    }

    public func tensor(named name: String) -> ParameterTensor? {
        tensors.first { $0.name == name }
    }
}
