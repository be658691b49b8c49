import Foundation
import GPTTensor

/// A GPT-2-style language model: token (+ position) embedding → blocks of causal
/// self-attention and MLP, each in a residual → final LayerNorm → unembedding.
///
/// The model is its configuration and weights, nothing else: parameters live in one flat buffer
/// described by `layout`. Whatever a pass needs besides (activations, gradients, scratch, a key/value
/// cache, a kernel context) belongs to a `TrainingSession` or an `InferenceSession`, so one model
/// serves any number of sessions at once. Only training writes the parameters, through its session.
public final class GPT: Sendable {
    public let configuration: GPTConfiguration
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// The fixed position vectors when positions are sinusoidal (learned ones live in `parameters`).
    private let sinusoidTable: FloatBuffer?
    /// The matrices cached inference multiplies by: dense views of `parameters` (the buffer never
    /// moves), or matrices stored elsewhere in another type (a quantized GGUF file).
    public let inferenceWeights: InferenceWeights
    /// Whether `parameters` holds every tensor (false: only the vectors, the matrices being
    /// `inferenceWeights` alone). Only a model that stores its matrices can be trained or saved.
    public let storesMatrices: Bool
    /// Position vectors added to the token embedding: `wpe` when learned, else the sinusoid table.
    var positionTable: UnsafePointer<Float> {
        UnsafePointer(layout.positionEmbedding.map { parameters.pointer + $0 } ?? sinusoidTable!.pointer)
    }

    /// A model with GPT-2 / nanoGPT initialisation: weights normal(0, 0.02), residual
    /// output projections normal(0, 0.02 / sqrt(2 · layers)), biases 0, LayerNorm gains 1.
    public convenience init(configuration: GPTConfiguration, generator: inout RandomGenerator) throws {
        try self.init(configuration: configuration)
        let projectionScale = 0.02 / Float(2 * configuration.layerCount).squareRoot()
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
    public convenience init(configuration: GPTConfiguration) throws {
        try self.init(configuration: configuration, matrices: nil)
    }

    /// A model for inference whose matrices are `matrices` (quantized, half precision, mapped from
    /// a file): `parameters` holds only the vectors (zero, to be filled by the caller).
    public convenience init(configuration: GPTConfiguration, matrices: InferenceWeights) throws {
        try self.init(configuration: configuration, matrices: .some(matrices))
    }

    private init(configuration: GPTConfiguration, matrices: InferenceWeights?) throws {
        try configuration.validate()
        self.configuration = configuration
        layout = ParameterLayout(configuration, matrices: matrices == nil)
        storesMatrices = matrices == nil
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
        inferenceWeights = matrices ?? InferenceWeights(dense: parameters, layout: layout, configuration: configuration)
    }

    /// Every parameter the model has, wherever it is stored.
    public var parameterCount: Int { storesMatrices ? layout.count : ParameterLayout(configuration).count }
}
