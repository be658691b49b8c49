import GPTTensor

/// The model's matrices rounded to bf16 for mixed-precision training: each packed twice, as the
/// forward product reads it (W) and as the input gradient's reads it (Wᵀ). The fp32 parameters stay
/// the master copy; `refresh` packs them again after each optimizer step, so every micro-batch of a
/// step multiplies by the same bf16 weights and no product converts a weight itself.
final class BFloat16Weights {
    struct Packed {
        /// inner = inputs, columns = outputs: out = input · W.
        let forward: PackedBFloat16Matrix
        /// inner = outputs, columns = inputs: d input += d out · Wᵀ.
        let backward: PackedBFloat16Matrix
    }

    /// Per layer, in `BlockMatrix.allCases` order.
    private let blocks: [[Packed]]
    let unembedding: Packed
    /// Whether the parameters changed since the last `refresh`.
    var isStale = true

    init(model: GPT) {
        precondition(model.storesMatrices, "BFloat16Weights: the model's matrices must be its own fp32 parameters")
        let configuration = model.configuration
        blocks = (0..<configuration.layerCount).map { _ in
            BlockMatrix.allCases.map { matrix in
                let shape = configuration.shape(of: matrix)
                return Packed(
                    forward: PackedBFloat16Matrix(inner: shape.input, columns: shape.output),
                    backward: PackedBFloat16Matrix(inner: shape.output, columns: shape.input))
            }
        }
        let (C, V) = (configuration.embeddingSize, configuration.vocabularySize)
        unembedding = Packed(
            forward: PackedBFloat16Matrix(inner: C, columns: V), backward: PackedBFloat16Matrix(inner: V, columns: C))
    }

    func block(_ layer: Int, _ matrix: BlockMatrix) -> Packed {
        blocks[layer][BlockMatrix.allCases.firstIndex(of: matrix)!]
    }

    /// Bytes held by the packed copies.
    var bytes: Int {
        blocks.joined().reduce(unembedding.forward.bytes + unembedding.backward.bytes) {
            $0 + $1.forward.bytes + $1.backward.bytes
        }
    }

    /// Packs every matrix from `model`'s fp32 parameters.
    func refresh(from model: GPT, context: KernelContext) {
        let weights = UnsafePointer(model.parameters.pointer)
        for layer in blocks.indices {
            for matrix in BlockMatrix.allCases {
                // Conv1D [in, out]: W is row-major inputs × outputs; Wᵀ reads it transposed.
                let packed = block(layer, matrix)
                let source = weights + model.layout.blocks[layer].matrix(matrix).weight
                let outputs = packed.forward.columns
                packed.forward.pack(from: source, leading: outputs, transposed: false, context: context)
                packed.backward.pack(from: source, leading: outputs, transposed: true, context: context)
            }
        }
        // The unembedding is [out, in] (V × C): the forward product reads it transposed.
        let source = weights + model.layout.outputWeight
        let C = model.configuration.embeddingSize
        unembedding.forward.pack(from: source, leading: C, transposed: true, context: context)
        unembedding.backward.pack(from: source, leading: C, transposed: false, context: context)
        isStale = false
    }
}
