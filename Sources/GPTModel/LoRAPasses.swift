import GPTTensor

/// What the training passes keep for an adapter: the products u = x Aᵀ of every adapted matrix
/// (rows × r each, for backward), and scratch for d u and for the adapter's input dropout.
final class LoRAActivations {
    let rows: Int
    let storage: FloatBuffer
    /// Per layer, per `BlockMatrix` (in `allCases` order): u, nil where not adapted.
    let products: [[UnsafeMutablePointer<Float>?]]
    /// u of the unembedding (`lm_head`), if adapted.
    let unembeddingProduct: UnsafeMutablePointer<Float>?
    let productGradient: UnsafeMutablePointer<Float>  // (rows, r)
    /// x after the adapter's dropout, and d x before it (rows × the widest adapted input); only with dropout.
    let droppedInput: UnsafeMutablePointer<Float>?
    let droppedInputGradient: UnsafeMutablePointer<Float>?

    init(adapter: LoRAAdapter, rows: Int, dropout: Bool) {
        let r = adapter.rank
        let layers = adapter.modelConfiguration.layerCount
        let widest = Self.widestInput(adapter)
        self.rows = rows
        storage = FloatBuffer(count: Self.floatCount(adapter: adapter, rows: rows, dropout: dropout))
        var slicer = FloatBuffer.Slicer(storage)
        products = (0..<layers).map { layer in
            BlockMatrix.allCases.map { adapter.site(layer: layer, matrix: $0) == nil ? nil : slicer.take(rows * r) }
        }
        unembeddingProduct = adapter.unembeddingSite == nil ? nil : slicer.take(rows * r)
        productGradient = slicer.take(rows * r)
        droppedInput = dropout ? slicer.take(rows * widest) : nil
        droppedInputGradient = dropout ? slicer.take(rows * widest) : nil
    }

    /// Floats an adapter's activations take for `rows` rows.
    static func floatCount(adapter: LoRAAdapter, rows: Int, dropout: Bool) -> Int {
        rows * adapter.rank * (adapter.layout.tensors.count / 2 + 1) + (dropout ? 2 * rows * widestInput(adapter) : 0)
    }

    private static func widestInput(_ adapter: LoRAAdapter) -> Int {
        adapter.allSites.map(\.input).max() ?? 0
    }
}

/// The adapter's part of one training pass: out += scale · dropout(x) Aᵀ Bᵀ after each adapted
/// matrix, and its mirror, accumulating into the adapter's gradients.
struct LoRAPass {
    let adapter: LoRAAdapter
    let activations: LoRAActivations
    /// d loss / d factors, in the adapter's layout (backward only).
    let gradients: UnsafeMutablePointer<Float>?
    /// PEFT's `lora_dropout` on the adapter's input (zero outside training).
    let dropout: Float
    let dropoutSeed: UInt64
    let context: KernelContext

    /// An adapted matrix: its factors, its saved product and its dropout seed.
    private struct Place {
        let site: LoRASite
        let product: UnsafeMutablePointer<Float>
        let seed: UInt64
    }

    private func place(layer: Int, matrix: BlockMatrix) -> Place? {
        let index = BlockMatrix.allCases.firstIndex(of: matrix)!
        guard let site = adapter.site(layer: layer, matrix: matrix), let product = activations.products[layer][index] else { return nil }
        return Place(site: site, product: product, seed: Dropout.seed(dropoutSeed ^ 0x4C6F_5241_4472_6F70, layer: layer, site: index))
    }

    /// The unembedding's place (seeded as a layer after the last block).
    private var unembeddingPlace: Place? {
        guard let site = adapter.unembeddingSite, let product = activations.unembeddingProduct else { return nil }
        let layer = adapter.modelConfiguration.layerCount
        return Place(site: site, product: product, seed: Dropout.seed(dropoutSeed ^ 0x4C6F_5241_4472_6F70, layer: layer, site: 0))
    }

    /// The adapter's input: x, or x through this step's dropout mask (into scratch).
    private func input(_ x: UnsafePointer<Float>, _ place: Place, rows: Int) -> UnsafePointer<Float> {
        guard dropout > 0, let dropped = activations.droppedInput else { return x }
        Kernels.dropout(
            output: dropped, input: x, count: rows * place.site.input, probability: dropout, seed: place.seed, context: context)
        return UnsafePointer(dropped)
    }

    /// output += scale · dropout(input) Aᵀ Bᵀ, when `matrix` is adapted in `layer`.
    func forward(layer: Int, matrix: BlockMatrix, input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int) {
        place(layer: layer, matrix: matrix).map { forward($0, input: x, output: output, rows: rows) }
    }

    /// logits += scale · dropout(x) Aᵀ Bᵀ for `rows` rows of the final norm's output starting at `row`.
    func forwardUnembedding(input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, row: Int = 0, rows: Int) {
        unembeddingPlace.map {
            forward(Place(site: $0.site, product: $0.product + row * adapter.rank, seed: $0.seed), input: x, output: output, rows: rows)
        }
    }

    private func forward(_ place: Place, input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int) {
        let (site, p) = (place.site, UnsafePointer(adapter.parameters.pointer))
        Kernels.loraForward(
            output: output, product: place.product, input: input(x, place, rows: rows), a: p + site.a, b: p + site.b,
            scale: adapter.configuration.scale, rows: rows, inputSize: site.input, outputSize: site.output,
            rank: adapter.rank, context: context)
    }

    /// Accumulates d A, d B and (through the dropout mask) d input of `matrix` in `layer`.
    func backward(
        layer: Int, matrix: BlockMatrix, outputGradient: UnsafePointer<Float>, input x: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>, rows: Int
    ) {
        place(layer: layer, matrix: matrix).map {
            backward($0, outputGradient: outputGradient, input: x, inputGradient: inputGradient, rows: rows)
        }
    }

    /// The same for the unembedding.
    func backwardUnembedding(
        outputGradient: UnsafePointer<Float>, input x: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>, rows: Int
    ) {
        unembeddingPlace.map { backward($0, outputGradient: outputGradient, input: x, inputGradient: inputGradient, rows: rows) }
    }

    private func backward(
        _ place: Place, outputGradient: UnsafePointer<Float>, input x: UnsafePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>, rows: Int
    ) {
        guard let gradients else { return }
        let (site, product) = (place.site, place.product)
        let p = UnsafePointer(adapter.parameters.pointer)
        let dropped = dropout > 0 ? activations.droppedInputGradient : nil
        if let dropped { dropped.update(repeating: 0, count: rows * site.input) }
        Kernels.loraBackward(
            inputGradient: dropped ?? inputGradient, aGradient: gradients + site.a, bGradient: gradients + site.b,
            productGradient: activations.productGradient, outputGradient: outputGradient, product: product,
            input: input(x, place, rows: rows), a: p + site.a, b: p + site.b,
            scale: adapter.configuration.scale, rows: rows, inputSize: site.input, outputSize: site.output,
            rank: adapter.rank, context: context)
        if let dropped {
            // x' = x · mask / (1 − p): d x += mask / (1 − p) · d x'.
            Kernels.dropout(
                output: dropped, input: dropped, count: rows * site.input, probability: dropout, seed: place.seed,
                context: context)
            Kernels.accumulate(inputGradient, dropped, count: rows * site.input, context: context)
        }
    }
}
