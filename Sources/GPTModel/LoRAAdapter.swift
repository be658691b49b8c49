import Foundation
import GPTTensor

/// Where one adapted matrix's factors sit in the adapter's parameter buffer.
public struct LoRASite: Sendable, Equatable {
    /// A (rank × input), PEFT's `lora_A.weight`.
    public let a: Int
    /// B (output × rank), PEFT's `lora_B.weight`.
    public let b: Int
    public let input: Int
    public let output: Int
}

/// A low-rank adapter for a model of one shape: for each adapted block matrix W (in × out, GPT-2's
/// Conv1D layout), the update W + scale · (B A)ᵀ, with A and B trained and W frozen.
///
/// Parameters live in one flat buffer described by `layout`, whose names and shapes are PEFT's
/// (`base_model.model.transformer.h.0.attn.c_attn.lora_A.weight` [r, in], `….lora_B.weight` [out, r]),
/// so the optimizer, checkpoints and the adapter file all work from it as they do from a model's.
public final class LoRAAdapter: Sendable {
    public let configuration: LoRAConfiguration
    /// The shape of model the adapter belongs to.
    public let modelConfiguration: GPTConfiguration
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Per layer, per `BlockMatrix` (in `allCases` order): the factors, nil where not adapted.
    private let sites: [[LoRASite?]]
    /// The unembedding's factors (`lm_head`: input C, output V), if adapted.
    public let unembeddingSite: LoRASite?

    /// An adapter with every factor zero (to be loaded or initialised).
    public init(configuration: LoRAConfiguration, model: GPTConfiguration) throws {
        try configuration.validate(for: model)
        let adapted = Set(try configuration.matrices())
        let r = configuration.rank
        var tensors: [(name: String, shape: [Int])] = []
        var sites: [[LoRASite?]] = []
        var offset = 0
        for layer in 0..<model.layerCount {
            var row: [LoRASite?] = []
            for matrix in BlockMatrix.allCases {
                guard adapted.contains(matrix) else {
                    row.append(nil)
                    continue
                }
                let (input, output) = model.shape(of: matrix)
                let path = LoRAConfiguration.modulePath(layer: layer, matrix: matrix)
                tensors += [(path + ".lora_A.weight", [r, input]), (path + ".lora_B.weight", [output, r])]
                row.append(LoRASite(a: offset, b: offset + r * input, input: input, output: output))
                offset += r * (input + output)
            }
            sites.append(row)
        }
        if configuration.adaptsUnembedding {
            let (input, output) = (model.embeddingSize, model.vocabularySize)
            tensors += [("base_model.model.lm_head.lora_A.weight", [r, input]), ("base_model.model.lm_head.lora_B.weight", [output, r])]
            unembeddingSite = LoRASite(a: offset, b: offset + r * input, input: input, output: output)
        } else {
            unembeddingSite = nil
        }
        self.configuration = configuration
        modelConfiguration = model
        layout = ParameterLayout(tensors: tensors)
        self.sites = sites
        parameters = FloatBuffer(count: layout.count)
    }

    /// A new adapter initialised as PEFT does (`init_lora_weights=True`): A from Kaiming-uniform with
    /// a = √5, i.e. uniform(−1/√in, 1/√in), B zero, so that the adapted model starts equal to the base.
    public convenience init(configuration: LoRAConfiguration, model: GPTConfiguration, generator: inout RandomGenerator) throws {
        try self.init(configuration: configuration, model: model)
        for site in allSites {
            let bound = 1 / Float(site.input).squareRoot()
            let a = parameters.pointer + site.a
            for index in 0..<(configuration.rank * site.input) { a[index] = (generator.nextFloat() * 2 - 1) * bound }
        }
    }

    /// Every adapted matrix's factors, blocks first, in layout order.
    public var allSites: [LoRASite] { sites.joined().compactMap { $0 } + (unembeddingSite.map { [$0] } ?? []) }

    /// The factors of `matrix` in block `layer`, if adapted.
    public func site(layer: Int, matrix: BlockMatrix) -> LoRASite? {
        sites[layer][BlockMatrix.allCases.firstIndex(of: matrix)!]
    }

    public var rank: Int { configuration.rank }

    /// Throws unless the adapter fits `model` (same shape of every adapted matrix, same depth).
    public func requireFits(_ model: GPTConfiguration, adapterName: String) throws {
        let own = modelConfiguration
        guard own.layerCount == model.layerCount, own.embeddingSize == model.embeddingSize, own.mlpSize == model.mlpSize else {
            throw ModelError(
                "adapter \(adapterName) was made for a model with \(own.layerCount) layers, width \(own.embeddingSize) and MLP width \(own.mlpSize), but this model has \(model.layerCount), \(model.embeddingSize) and \(model.mlpSize); use the adapter with its own base model")
        }
    }

    /// The adapted model as one dense model: `model` with weight · scale · (B A)ᵀ folded into each
    /// adapted matrix (`weight` scales the adapter as a whole, `--adapter-scale`). An adapted
    /// unembedding of a model with tied embeddings unties them first (the output layer changes, the
    /// input embedding does not): the result is then a new model; otherwise `model` itself, changed.
    public func merged(into model: GPT, weight: Float = 1) throws -> GPT {
        var target = model
        if unembeddingSite != nil && model.configuration.tiesEmbeddings {
            var untied = model.configuration
            untied.tiesEmbeddings = false
            target = try GPT(configuration: untied)
            for tensor in target.layout.tensors {
                let source = model.layout.tensor(named: tensor.name == "lm_head.weight" ? "wte.weight" : tensor.name)!
                (target.parameters.pointer + tensor.offset).update(from: model.parameters.pointer + source.offset, count: tensor.count)
            }
        }
        try merge(into: target, weight: weight)
        return target
    }

    /// Folds weight · scale · (B A)ᵀ into `model`'s matrices in place (an adapted unembedding needs
    /// untied embeddings here: see `merged(into:weight:)`).
    public func merge(into model: GPT, weight: Float = 1) throws {
        if unembeddingSite != nil && model.configuration.tiesEmbeddings {
            throw ModelError("an adapter on lm_head changes the output layer alone: merge it into a model with untied embeddings")
        }
        guard model.storesMatrices else {
            throw ModelError("an adapter can only be merged into a model whose matrices are Float32 (load it dense)")
        }
        try requireFits(model.configuration, adapterName: configuration.baseModel)
        let r = rank
        let scale = weight * configuration.scale
        for layer in 0..<model.configuration.layerCount {
            for matrix in BlockMatrix.allCases {
                guard let site = site(layer: layer, matrix: matrix) else { continue }
                let w = model.parameters.pointer + model.layout.blocks[layer].matrix(matrix).weight
                // W (in × out) += scale · Aᵀ (in × r) · Bᵀ (r × out)
                BLAS.multiply(
                    transposeA: true, transposeB: true, rows: site.input, columns: site.output, inner: r, alpha: scale,
                    parameters.pointer + site.a, leadingA: site.input, parameters.pointer + site.b, leadingB: r,
                    beta: 1, w, leadingC: site.output)
            }
        }
        if let site = unembeddingSite {
            // lm_head (V × C, output-major) += scale · B (V × r) · A (r × C)
            BLAS.multiply(
                rows: site.output, columns: site.input, inner: r, alpha: scale, parameters.pointer + site.b, leadingA: r,
                parameters.pointer + site.a, leadingB: site.input, beta: 1,
                model.parameters.pointer + model.layout.outputWeight, leadingC: site.input)
        }
    }
}
