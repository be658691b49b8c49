import Foundation
import GPTTensor

/// A GPT-2-style language model: token (+ position) embedding → blocks of causal
/// self-attention and MLP, each in a residual → final LayerNorm → unembedding.
///
/// Parameters live in one flat buffer described by `layout`; gradients, when
/// trained, in a second buffer with the same layout.
public final class GPTModel: @unchecked Sendable {
    public let configuration: GPTConfiguration
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Allocated on the first training forward pass.
    public private(set) var gradients: FloatBuffer?
    /// The fixed position vectors when positions are sinusoidal (learned ones live in `parameters`).
    let sinusoidTable: FloatBuffer?
    /// Position vectors added to the token embedding: `wpe` when learned, else the sinusoid table.
    var positionTable: UnsafePointer<Float> {
        UnsafePointer(layout.positionEmbedding.map { parameters.pointer + $0 } ?? sinusoidTable!.pointer)
    }
    var activations: Activations?
    var inferenceScratch: InferenceScratch?
    /// The matrices inference multiplies by (see `inferenceWeights`).
    var storedInferenceWeights: InferenceWeights?
    /// The mean loss of the last forward pass that had targets.
    public internal(set) var lastLoss: Float?
    var lastDropoutSeed: UInt64 = 0
    /// The batch size and length of the last forward pass.
    var lastBatch = 0
    var lastLength = 0

    /// A model with GPT-2 / nanoGPT initialisation: weights normal(0, 0.02), residual
    /// output projections normal(0, 0.02 / sqrt(2 · layers)), biases 0, LayerNorm gains 1.
    public convenience init(configuration: GPTConfiguration, generator: inout Generator) throws {
        try self.init(configuration: configuration)
        let projectionScale = 0.02 / Float(2 * configuration.layers).squareRoot()
        let pointer = parameters.pointer
        for tensor in layout.tensors {
            let values = pointer + tensor.offset
            if tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight")
                || tensor.name == "ln_f.weight"
            {
                values.update(repeating: 1, count: tensor.count)
            } else if tensor.shape.count == 1 {
                values.update(repeating: 0, count: tensor.count)
            } else {
                let scale = tensor.name.hasSuffix("c_proj.weight") ? projectionScale : 0.02
                for index in 0..<tensor.count { values[index] = generator.nextNormal() * scale }
            }
        }
    }

    /// A model with all parameters zero (to be loaded or filled by the caller).
    public init(configuration: GPTConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        layout = ParameterLayout(configuration)
        parameters = FloatBuffer(count: layout.count)
        if configuration.position == .sinusoidal {
            let (T, C) = (configuration.contextLength, configuration.embeddingSize)
            let table = FloatBuffer(count: T * C)
            for t in 0..<T {
                for pair in stride(from: 0, to: C, by: 2) {
                    let angle = Double(t) / pow(10_000, Double(pair) / Double(C))
                    table[t * C + pair] = Float(sin(angle))
                    if pair + 1 < C { table[t * C + pair + 1] = Float(cos(angle)) }
                }
            }
            sinusoidTable = table
        } else {
            sinusoidTable = nil
        }
    }

    public var parameterCount: Int { layout.count }

    /// Sets every gradient to zero (backward accumulates).
    public func zeroGradients() {
        gradients?.zero()
    }

    /// Bytes held by activations for the current shape.
    public var activationBytes: Int {
        guard let activations else { return 0 }
        return (activations.storage.count + (activations.gradientStorage?.count ?? 0)) * 4
    }

    /// Makes sure buffers exist for `batch` × `length` positions.
    func prepare(batch: Int, length: Int, training: Bool) throws {
        guard batch > 0, length > 0 else { throw ModelError("batch size and length must be positive") }
        guard length <= configuration.contextLength else {
            throw ModelError("sequence length \(length) exceeds the context length \(configuration.contextLength)")
        }
        if let current = activations, batch * length <= current.batch * current.length,
            batch * length * length <= current.batch * current.length * current.length,
            current.isTraining || !training
        {
            return
        }
        activations = Activations(configuration: configuration, batch: batch, length: length, training: training)
        if training && gradients == nil {
            gradients = FloatBuffer(count: layout.count)
        }
    }
}
