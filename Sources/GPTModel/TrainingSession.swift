import Foundation
import GPTTensor

/// Sees each (layer, batch row, head)'s attention probabilities (T × T, row-major: query × key)
/// during a forward pass, without changing anything.
public typealias AttentionObserver = (_ layer: Int, _ batchIndex: Int, _ head: Int, _ probabilities: UnsafeBufferPointer<Float>) -> Void

/// Full-sequence passes over a model, the way training runs them: everything the forward pass
/// saves for backward, the gradient buffer and the kernel context. The model holds only weights
/// and configuration; each user (a trainer, a teacher, a picture) owns its own session.
///
/// With an `adapter` the model is frozen and runs with the adapter's low-rank updates: backward
/// computes only the adapter's gradients (`adapterGradients`) and no gradient buffer the size of
/// the model is ever made.
///
/// Not for concurrent use: one session is one thread of work.
public final class TrainingSession {
    public let model: GPT
    public let adapter: LoRAAdapter?
    public let context: KernelContext
    /// The number format of the linear layers' products in training forward and backward passes
    /// (passes without `training` multiply in fp32).
    public let precision: Precision
    /// The bf16 copies of the matrices (bf16 precision), packed again when the parameters change.
    private lazy var halfWeights: BFloat16Weights? = precision == .bf16 ? BFloat16Weights(model: model) : nil
    /// The bf16 matrices the last forward pass multiplied by (nil: fp32), which its backward uses too.
    private var lastHalfWeights: BFloat16Weights?
    /// d loss / d parameters, in the model's layout; backward accumulates into it (without an adapter).
    public private(set) lazy var gradients = adapter == nil ? gradientStorage ?? FloatBuffer(count: model.layout.count)
        : FloatBuffer(count: model.layout.count)
    /// d loss / d adapter factors, in the adapter's layout (with an adapter).
    public private(set) lazy var adapterGradients = adapter != nil ? gradientStorage ?? FloatBuffer(count: adapter!.layout.count)
        : FloatBuffer(count: 0)
    /// Where the trained gradients live when the caller provides it (memory shared with other processes).
    private let gradientStorage: FloatBuffer?
    /// The gradients backward fills: the adapter's with an adapter, else the model's.
    public var trainedGradients: FloatBuffer { adapter == nil ? gradients : adapterGradients }
    var activations: Activations?
    private var loraActivations: LoRAActivations?
    /// The mean loss of the last forward pass that had targets.
    public private(set) var lastLoss: Float?
    /// The dropout the last forward pass applied (none outside training), which its backward undoes.
    private var lastDropout = Dropout()
    private var lastDropoutSeed: UInt64 = 0
    /// The batch size and length of the last forward pass.
    private var lastBatch = 0
    private var lastLength = 0

    /// `gradientStorage`, when given, holds the trained gradients (the model's or the adapter's layout).
    /// `precision` bf16 needs AVX512-BF16 at the context's level and the model's own fp32 matrices
    /// (`Precision.resolved(at:)` says which precision runs).
    public init(
        model: GPT, adapter: LoRAAdapter? = nil, context: KernelContext, gradientStorage: FloatBuffer? = nil,
        precision: Precision = .fp32
    ) {
        precondition(
            precision == .fp32 || (Precision.isBFloat16Available(at: context.level) && model.storesMatrices),
            "TrainingSession: bf16 products need AVX512-BF16 and fp32 matrices")
        self.precision = precision
        precondition(
            gradientStorage.map { $0.count == (adapter?.layout.count ?? model.layout.count) } ?? true,
            "TrainingSession: the gradient storage does not match the trained layout")
        self.gradientStorage = gradientStorage
        precondition(
            model.storesMatrices || adapter != nil,
            "TrainingSession: a model whose matrices are stored elsewhere (quantized) is trained only through an adapter")
        if let adapter { precondition(adapter.modelConfiguration == model.configuration, "TrainingSession: the adapter is for another model shape") }
        self.model = model
        self.adapter = adapter
        self.context = context
    }

    public convenience init(model: GPT, adapter: LoRAAdapter? = nil, parallelism: Parallelism) {
        self.init(model: model, adapter: adapter, context: KernelContext(parallelism: parallelism))
    }

    /// Says the model's parameters changed (an optimizer step): the next training pass packs its bf16
    /// matrices again. Without it a bf16 session keeps multiplying by the weights it packed last.
    public func weightsChanged() {
        halfWeights?.isStale = true
    }

    /// Bytes held by the bf16 copies of the matrices (0 in fp32, or before the first training pass).
    public var halfPrecisionWeightBytes: Int { lastHalfWeights?.bytes ?? 0 }

    /// The bf16 matrices for a training pass, packed first if the parameters changed.
    private func preparedHalfWeights() -> BFloat16Weights? {
        guard let halfWeights else { return nil }
        if halfWeights.isStale { halfWeights.refresh(from: model, context: context) }
        return halfWeights
    }

    /// Sets every gradient to zero (backward accumulates).
    public func zeroGradients() {
        trainedGradients.zero()
    }

    /// Bytes held by activations for the current shape.
    public var activationBytes: Int {
        guard let activations else { return 0 }
        return (activations.storage.count + (activations.gradientStorage?.count ?? 0) + (loraActivations?.storage.count ?? 0)) * 4
    }

    /// The adapter's part of a pass (nil without an adapter), its buffers grown to `rows` if needed.
    private func loraPass(rows: Int, gradients: Bool) -> LoRAPass? {
        guard let adapter else { return nil }
        let dropout = lastDropout.isTraining ? adapter.configuration.dropout : 0
        let fits = loraActivations.map { $0.rows >= rows && ($0.droppedInput != nil || dropout == 0) } ?? false
        if !fits { loraActivations = LoRAActivations(adapter: adapter, rows: rows, dropout: dropout > 0) }
        return LoRAPass(
            adapter: adapter, activations: loraActivations!, gradients: gradients ? adapterGradients.pointer : nil,
            dropout: dropout, dropoutSeed: lastDropoutSeed, context: context)
    }

    /// Runs the model on `tokens` (B × T ids, row-major) and, given `targets`, returns the
    /// mean cross-entropy loss. Logits are kept for `logits(batchIndex:position:)`.
    ///
    /// - Parameters:
    ///   - training: apply dropout and keep what `backward` needs.
    ///   - dropoutSeed: the seed of this step's dropout masks (draw it from a `RandomGenerator`).
    ///   - lastPositionOnly: compute logits only at position T − 1.
    @discardableResult
    public func forward(
        tokens: [Int32], targets: [Int32]? = nil, batch: Int, length: Int,
        training: Bool = false, dropoutSeed: UInt64 = 0, lastPositionOnly: Bool = false,
        attentionObserver: AttentionObserver? = nil
    ) throws -> Float? {
        let configuration = model.configuration
        let rows = batch * length
        guard tokens.count == rows, targets.map({ $0.count == rows }) ?? true else {
            throw ModelError("expected \(rows) tokens and targets for batch \(batch) × length \(length)")
        }
        try model.checkTokens(tokens)
        if let targets { try model.checkTokens(targets, role: "target") }
        let act = try prepare(batch: batch, length: length, training: training)
        lastDropout = training ? Dropout(configuration) : Dropout()
        lastDropoutSeed = dropoutSeed
        lastBatch = batch
        lastLength = length
        lastLoss = nil
        act.tokens.copy(tokens)
        if let targets { act.targets.copy(targets) }

        lastHalfWeights = training ? preparedHalfWeights() : nil
        var pass = TrainingForward(
            model: model, activations: act, halfWeights: lastHalfWeights, context: context, batch: batch, length: length,
            dropout: lastDropout, dropoutSeed: dropoutSeed,
            lastPositionOnly: lastPositionOnly, observer: attentionObserver, lora: loraPass(rows: rows, gradients: false))
        model.forward(&pass)

        // Cross-entropy loss, averaged over every position.
        guard targets != nil, !lastPositionOnly else { return nil }
        Kernels.crossEntropyForward(
            losses: act.losses, logSumExp: act.logSumExp, logits: act.logits, targets: act.targets.pointer,
            rows: rows, vocabularySize: configuration.vocabularySize, context: context)
        var sum = 0.0
        for row in 0..<rows { sum += Double(act.losses[row]) }
        let loss = Float(sum / Double(rows))
        lastLoss = loss
        return loss
    }

    /// The mean cross-entropy of `targets` after `tokens`: a forward pass with targets (what `backward`
    /// then differentiates when `training`).
    public func loss(
        tokens: [Int32], targets: [Int32], batch: Int, length: Int, training: Bool = false, dropoutSeed: UInt64 = 0
    ) throws -> Float {
        guard let loss = try forward(
            tokens: tokens, targets: targets, batch: batch, length: length, training: training, dropoutSeed: dropoutSeed)
        else { throw ModelError("a forward pass with targets returned no loss") }
        return loss
    }

    /// Backpropagates the mean loss of the last training forward pass, accumulating (+=) into
    /// `gradients`. `lossGradient`, when given, writes d logits itself (rows × V) from the logits
    /// and targets instead of the cross-entropy's — e.g. a distillation loss. `gradientsFinal` is
    /// told, on the calling thread and with falling offsets, that the model's gradients from an offset to
    /// the end will not change again in this pass (a data-parallel exchange starts on them while
    /// backward goes on); it is not called with an adapter.
    public func backward(
        lossGradient: ((_ logitsGradient: UnsafeMutablePointer<Float>, _ logits: UnsafePointer<Float>,
            _ targets: UnsafePointer<Int32>, _ rows: Int) -> Void)? = nil,
        gradientsFinal: ((Int) -> Void)? = nil
    ) throws {
        guard let act = activations, act.isTraining, lastLoss != nil else {
            throw ModelError("backward needs a preceding training forward pass with targets")
        }
        let rows = lastBatch * lastLength
        // The loss: the mean over B·T positions seeds d logits with 1/(B·T) (fused softmax + cross-entropy).
        if let lossGradient {
            lossGradient(act.logitsGradient, act.logits, act.targets.pointer, rows)
        } else {
            Kernels.crossEntropyBackward(
                logitsGradient: act.logitsGradient, logits: act.logits, logSumExp: act.logSumExp, targets: act.targets.pointer,
                lossGradient: 1 / Float(rows), rows: rows, vocabularySize: model.configuration.vocabularySize,
                context: context)
        }
        var pass = TrainingBackward(
            model: model, activations: act, halfWeights: lastHalfWeights, gradients: adapter == nil ? gradients.pointer : nil,
            lora: loraPass(rows: rows, gradients: true), context: context,
            batch: lastBatch, length: lastLength, dropout: lastDropout, dropoutSeed: lastDropoutSeed,
            gradientsFinal: adapter == nil ? gradientsFinal : nil)
        model.backward(&pass)
    }

    /// The logits (V values) at one position of the last forward pass.
    public func logits(batchIndex: Int = 0, position: Int) -> UnsafeBufferPointer<Float> {
        guard let act = activations else { return UnsafeBufferPointer(start: nil, count: 0) }
        let V = model.configuration.vocabularySize
        return UnsafeBufferPointer(start: act.logits + (batchIndex * lastLength + position) * V, count: V)
    }

    /// All logits of the last forward pass (B·T rows of V, row-major).
    public var allLogits: UnsafeBufferPointer<Float> {
        guard let act = activations else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: act.logits, count: lastBatch * lastLength * model.configuration.vocabularySize)
    }

    /// The cross-entropy at one position of the last forward pass with targets.
    public func loss(batchIndex: Int = 0, position: Int) -> Float {
        guard let act = activations else { return .nan }
        return act.losses[batchIndex * lastLength + position]
    }

    /// Refuses a batch whose activations (and, training, their gradients) would not fit in this
    /// machine's memory next to the weights, before anything is allocated.
    public static func requireMemory(configuration: GPTConfiguration, batch: Int, length: Int, training: Bool) throws {
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        let floats = Activations.floatCount(configuration: configuration, batch: batch, length: length, training: training)
        guard let floats, let bytes = CheckedSize.product(floats, 4), bytes < memory else {
            let need = floats.flatMap { CheckedSize.product($0, 4) }.map(CheckedSize.describe(bytes:)) ?? "more than any machine has"
            throw ModelError(
                "a batch of \(batch) × \(length) positions needs \(need) of activations\(training ? " and gradients" : ""), more than this machine's \(CheckedSize.describe(bytes: memory)); lower --batch-size or --context-length")
        }
    }

    /// Buffers for `batch` × `length` positions (made when the shape first grows, then reused).
    private func prepare(batch: Int, length: Int, training: Bool) throws -> Activations {
        let configuration = model.configuration
        guard batch > 0, length > 0 else { throw ModelError("batch size and length must be positive") }
        guard length <= configuration.contextLength else {
            throw ModelError("sequence length \(length) exceeds the context length \(configuration.contextLength)")
        }
        if let current = activations, batch * length <= current.batch * current.length,
            batch * length * length <= current.batch * current.length * current.length,
            current.isTraining || !training
        {
            return current
        }
        try Self.requireMemory(configuration: configuration, batch: batch, length: length, training: training)
        let made = Activations(configuration: configuration, batch: batch, length: length, training: training)
        activations = made
        return made
    }
}

/// Dropout rates of one pass (all zero outside training).
struct Dropout {
    var embedding: Float = 0
    var attention: Float = 0
    var residual: Float = 0
    /// Whether the pass trains (an adapter's own dropout applies then).
    var isTraining = false

    init() {}

    init(_ configuration: GPTConfiguration) {
        embedding = configuration.embeddingDropout
        attention = configuration.attentionDropout
        residual = configuration.residualDropout
        isTraining = true
    }

    /// A distinct dropout seed for each place dropout happens in one step (layer −1: the embedding).
    static func seed(_ stepSeed: UInt64, layer: Int, site: Int) -> UInt64 {
        stepSeed &+ UInt64(bitPattern: Int64((layer + 1) * 4 + site)) &* 0x9E37_79B9_7F4A_7C15
    }
}

extension GPT {
    /// Throws unless every id is inside the vocabulary.
    func checkTokens(_ tokens: [Int32], role: String = "token") throws {
        let V = configuration.vocabularySize
        for token in tokens where token < 0 || Int(token) >= V {
            throw ModelError("\(role) id \(token) is outside the vocabulary of \(V)")
        }
    }
}
