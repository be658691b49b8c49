/// One transformer block, written once for every path through the model.
///
/// The block is defined over a handful of operations (norm, linear, attend, activate, residual);
/// training implements them over saved activations and the fp32 parameters, cached inference over
/// the key/value cache and the `WeightMatrix` seam. Which buffer each operation writes, which
/// weights it reads and what it saves for the backward pass is the implementation's business;
/// the block only says what is computed, in the paper's order. `backward` is its mirror.

/// A block's two LayerNorms (GPT-2's ln_1 and ln_2) and the final one (ln_f).
public enum NormSite: Sendable, CaseIterable {
    case first, second, final
}

/// A block's four matrices, in GPT-2's names: c_attn, attn.c_proj, c_fc, mlp.c_proj.
public enum BlockMatrix: Sendable, CaseIterable {
    case qkv, attentionProjection, mlpUp, mlpDown
}

/// The two residual branches of a block (also the places residual dropout happens).
public enum ResidualBranch: Int, Sendable {
    case attention = 2, mlp = 3
}

/// What a block's forward pass is made of. Every operation returns where it put its result.
protocol BlockOperations {
    /// LayerNorm of `input` (rows × C) with the weights of `site`.
    mutating func norm(_ site: NormSite, _ input: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// input · W (+ bias) for one of the block's matrices.
    mutating func linear(_ matrix: BlockMatrix, _ input: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// Causal multi-head self-attention over [Q | K | V] rows (rows × 3C → rows × C).
    mutating func attend(_ qkv: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// The MLP's elementwise activation (GELU or ReLU).
    mutating func activate(_ input: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// stream + branch (after the branch's dropout, when training).
    mutating func residual(_ stream: UnsafePointer<Float>, adding branch: UnsafePointer<Float>, from: ResidualBranch)
        -> UnsafePointer<Float>
}

/// What a block's backward pass is made of. Gradients arrive as d output and leave as d input;
/// weight gradients are accumulated (+=) by each operation as a side effect.
protocol BlockGradientOperations {
    /// d branch output = d stream through the branch's dropout mask.
    mutating func branchGradient(_ stream: UnsafePointer<Float>, from: ResidualBranch) -> UnsafePointer<Float>
    /// d input of a matrix product (in the operation's own buffer).
    mutating func linearBackward(_ matrix: BlockMatrix, _ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float>
    mutating func attendBackward(_ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float>
    mutating func activateBackward(_ outputGradient: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// Adds d input of the norm at `site` into `stream`.
    mutating func normBackward(_ site: NormSite, _ outputGradient: UnsafePointer<Float>, into stream: UnsafeMutablePointer<Float>)
    /// Replaces `stream` (d norm output) with d norm input.
    mutating func normBackward(_ site: NormSite, replacing stream: inout UnsafeMutablePointer<Float>)
    /// stream += gradient.
    mutating func accumulate(_ gradient: UnsafePointer<Float>, into stream: UnsafeMutablePointer<Float>)
}

/// The block itself: where its norms sit is the one architecture choice it makes.
struct TransformerBlock: Sendable {
    let normalization: Normalization

    /// x → the block's output.
    func forward<Operations: BlockOperations>(_ x: UnsafePointer<Float>, _ ops: inout Operations) -> UnsafePointer<Float> {
        switch normalization {
        case .pre:
            // GPT-2: h = x + attention(LN₁(x)); out = h + mlp(LN₂(h))
            let h = ops.residual(x, adding: attention(ops.norm(.first, x), &ops), from: .attention)
            return ops.residual(h, adding: mlp(ops.norm(.second, h), &ops), from: .mlp)
        case .post:
            // The original transformer: h = LN₁(x + attention(x)); out = LN₂(h + mlp(h))
            let h = ops.norm(.first, ops.residual(x, adding: attention(x, &ops), from: .attention))
            return ops.norm(.second, ops.residual(h, adding: mlp(h, &ops), from: .mlp))
        }
    }

    /// Causal self-attention: project to queries, keys and values, attend, project back.
    func attention<Operations: BlockOperations>(_ x: UnsafePointer<Float>, _ ops: inout Operations) -> UnsafePointer<Float> {
        ops.linear(.attentionProjection, ops.attend(ops.linear(.qkv, x)))
    }

    /// The position-wise MLP: up to the hidden width, activation, back down.
    func mlp<Operations: BlockOperations>(_ x: UnsafePointer<Float>, _ ops: inout Operations) -> UnsafePointer<Float> {
        ops.linear(.mlpDown, ops.activate(ops.linear(.mlpUp, x)))
    }

    /// `stream` holds d output on entry and d input on return: `forward` read backwards.
    func backward<Operations: BlockGradientOperations>(_ stream: inout UnsafeMutablePointer<Float>, _ ops: inout Operations) {
        switch normalization {
        case .pre:
            // out = h + mlp(LN₂(h)): the residual passes d out to h unchanged; the branch adds its part.
            ops.normBackward(.second, mlpBackward(ops.branchGradient(stream, from: .mlp), &ops), into: stream)
            // h = x + attention(LN₁(x)): likewise.
            ops.normBackward(.first, attentionBackward(ops.branchGradient(stream, from: .attention), &ops), into: stream)
        case .post:
            // out = LN₂(h₂), h₂ = h + mlp(h)
            ops.normBackward(.second, replacing: &stream)
            ops.accumulate(mlpBackward(ops.branchGradient(stream, from: .mlp), &ops), into: stream)
            // h = LN₁(h₁), h₁ = x + attention(x)
            ops.normBackward(.first, replacing: &stream)
            ops.accumulate(attentionBackward(ops.branchGradient(stream, from: .attention), &ops), into: stream)
        }
    }

    func attentionBackward<Operations: BlockGradientOperations>(
        _ outputGradient: UnsafePointer<Float>, _ ops: inout Operations
    ) -> UnsafePointer<Float> {
        ops.linearBackward(.qkv, ops.attendBackward(ops.linearBackward(.attentionProjection, outputGradient)))
    }

    func mlpBackward<Operations: BlockGradientOperations>(
        _ outputGradient: UnsafePointer<Float>, _ ops: inout Operations
    ) -> UnsafePointer<Float> {
        ops.linearBackward(.mlpUp, ops.activateBackward(ops.linearBackward(.mlpDown, outputGradient)))
    }
}

/// The whole model's operations: the blocks', plus the embedding and the output head.
protocol ModelOperations: BlockOperations {
    /// Token embedding + position encoding of the positions this pass computes.
    mutating func embed() -> UnsafePointer<Float>
    /// Called before each block, first to last.
    mutating func enter(layer: Int)
    /// The rows of the last block's output whose next token is predicted (all, or each sequence's last).
    mutating func outputRows(_ x: UnsafePointer<Float>) -> UnsafePointer<Float>
    /// Logits = x · Wᵤᵀ (the token embedding when tied).
    mutating func unembed(_ x: UnsafePointer<Float>)
}

/// The whole model's backward operations.
protocol ModelGradientOperations: BlockGradientOperations {
    /// d (final norm output) from d logits (the loss has already seeded them).
    mutating func unembedBackward() -> UnsafePointer<Float>
    /// A zeroed buffer for d (last block output).
    mutating func streamGradient() -> UnsafeMutablePointer<Float>
    mutating func enter(layer: Int)
    /// Scatters d (first block input) into the embeddings.
    mutating func embedBackward(_ stream: UnsafeMutablePointer<Float>)
}

extension GPT {
    /// The model, written once: embeddings → blocks → final norm → unembedding.
    func forward<Operations: ModelOperations>(_ ops: inout Operations) {
        var x = ops.embed()
        for layer in 0..<configuration.layerCount {
            ops.enter(layer: layer)
            x = block.forward(x, &ops)
        }
        ops.unembed(ops.norm(.final, ops.outputRows(x)))
    }

    /// The mirror of `forward`, from d logits back to the embeddings.
    func backward<Operations: ModelGradientOperations>(_ ops: inout Operations) {
        let normGradient = ops.unembedBackward()
        var stream = ops.streamGradient()
        ops.normBackward(.final, normGradient, into: stream)
        for layer in stride(from: configuration.layerCount - 1, through: 0, by: -1) {
            ops.enter(layer: layer)
            block.backward(&stream, &ops)
        }
        ops.embedBackward(stream)
    }

    var block: TransformerBlock { TransformerBlock(normalization: configuration.normalization) }
}
