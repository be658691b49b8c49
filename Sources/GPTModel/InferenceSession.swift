import GPTTensor

/// Which positions' logits a cached forward pass computes.
public enum LogitPositions: Sendable, Equatable {
    /// Each row's last new position (generation).
    case last
    /// Every new position (evaluation).
    case all
    /// Each row's last `k` new positions (sliding-window evaluation scores only those).
    case trailing(Int)

    /// Logit rows per cache row when `count` new positions go through.
    func perRow(count: Int) -> Int {
        switch self {
        case .last: 1
        case .all: count
        case .trailing(let k): min(max(k, 1), count)
        }
    }
}

/// Cached inference over a model: the scratch buffers and kernel context one user needs. The
/// model's weights are shared and only read, so any number of sessions over one model run
/// concurrently; each session is one thread of work.
public final class InferenceSession {
    public let model: GPT
    public let context: KernelContext
    private var scratch: InferenceScratch?
    private var evaluationCache: KVCache?
    /// When set, every forward pass adds its time per operation here (for benchmarks; costs a clock
    /// read per operation).
    public var profile: InferenceProfile?

    public init(model: GPT, context: KernelContext) {
        self.model = model
        self.context = context
    }

    public convenience init(model: GPT, parallelism: Parallelism) {
        self.init(model: model, context: KernelContext(parallelism: parallelism))
    }

    /// Runs `count` new tokens per cache row (`tokens` is batch × count, row-major) at positions
    /// cache.length ..< cache.length + count, appends their keys and values to `cache`, and
    /// returns logits: of each row's last new position (batch × V), or of every new position
    /// (batch × count × V). The prompt goes through in one call (prefill); generation then calls
    /// this with one token per row (decode). `observer` sees every layer's and head's attention
    /// probabilities of the new positions (count × (past + count) per row and head).
    public func forward(
        tokens: [Int32], count: Int, cache: KVCache, positions: LogitPositions = .last, observer: AttentionObserver? = nil
    ) throws -> UnsafeBufferPointer<Float> {
        let configuration = model.configuration
        let rows = cache.batch * count
        guard count > 0, tokens.count == rows else {
            throw ModelError("expected \(rows) tokens (\(cache.batch) rows × \(count)), got \(tokens.count)")
        }
        guard cache.length + count <= cache.capacity else {
            throw ModelError("the cache holds \(cache.length) of \(cache.capacity) positions; \(count) more do not fit")
        }
        try model.checkTokens(tokens)
        let outputRows = cache.batch * positions.perRow(count: count)
        let s: InferenceScratch
        if let current = scratch, current.rows >= rows, current.outputRows >= outputRows {
            s = current
        } else {
            s = InferenceScratch(configuration: configuration, rows: rows, outputRows: outputRows)
            scratch = s
        }
        s.tokens.copy(tokens)
        var pass = CachedForward(
            model: model, scratch: s, cache: cache, context: context, count: count, positions: positions, profile: profile)
        pass.observer = observer
        model.forward(&pass)
        profile?.passes += 1
        cache.length += count
        let logits = UnsafeBufferPointer(start: s.logits, count: outputRows * configuration.vocabularySize)
        try Self.requireFinite(logits, model: model)
        return logits
    }

    /// Logits beyond this magnitude cannot be turned into probabilities in float32 (log-sum-exp
    /// absorbs every difference below a millionth of it); trained models stay within a few hundred.
    public static let logitLimit: Float = 1e6

    /// An overflowed forward pass (finite but huge weights) must never look like a confident one:
    /// logits that are infinite, NaN or beyond `logitLimit` are an error, not a loss of 0 or a
    /// log-probability of 0.
    static func requireFinite(_ logits: UnsafeBufferPointer<Float>, model: GPT) throws {
        var probe: Float = 0
        var largest: Float = 0
        for value in logits {
            probe += value * 0  // NaN as soon as one value is infinite or NaN
            largest = max(largest, abs(value))
        }
        guard !probe.isFinite || largest > logitLimit else { return }
        let parameters = UnsafeBufferPointer(start: model.parameters.pointer, count: model.parameters.count)
        let weight = parameters.reduce(Float(0)) { max($0, abs($1)) }
        throw ModelError(
            "the forward pass overflowed: the logits reach \(probe.isFinite ? "\(largest)" : "infinity or NaN"), beyond what float32 probabilities resolve (the largest weight is \(weight)); the model's weights are corrupt or its training diverged")
    }

    /// The negative log-likelihood of each target given the tokens before it, each sequence
    /// (batch × length tokens, row-major) scored from its start — evaluation through the inference
    /// path, so that whatever storage the weights have is what gets scored. `targets` holds, per
    /// sequence, the next tokens of its last `scored` positions (default: all of them).
    public func negativeLogLikelihoods(
        tokens: [Int32], targets: [Int32], batch: Int, length: Int, scored: Int? = nil
    ) throws -> UnsafeBufferPointer<Float> {
        let perRow = scored ?? length
        guard perRow >= 1, perRow <= length, targets.count == batch * perRow else {
            throw ModelError("expected \(batch * perRow) targets for batch \(batch) × \(perRow) scored positions of \(length)")
        }
        try model.checkTokens(targets, role: "target")
        if evaluationCache?.batch != batch {
            evaluationCache = KVCache(configuration: model.configuration, batch: batch)
        }
        let cache = evaluationCache!
        cache.reset()
        let logits = try forward(tokens: tokens, count: length, cache: cache, positions: .trailing(perRow))
        let s = scratch!
        s.targets.copy(targets)
        Kernels.crossEntropyForward(
            losses: s.losses, logSumExp: s.logSumExp, logits: logits.baseAddress!, targets: s.targets.pointer,
            rows: targets.count, vocabularySize: model.configuration.vocabularySize, context: context)
        return UnsafeBufferPointer(start: s.losses, count: targets.count)
    }
}

/// Buffers for cached inference, sized for `rows` new positions at once and `outputRows` rows of logits.
final class InferenceScratch {
    let rows: Int
    let outputRows: Int
    private let storage: FloatBuffer
    let tokens: TokenBuffer
    let targets: TokenBuffer
    let stream, norm, mean, reciprocalStd, qkv, attention, projection, up, activated: UnsafeMutablePointer<Float>
    /// The head's input rows (each row's last position, or all) and the logits.
    let head, logits, losses, logSumExp: UnsafeMutablePointer<Float>

    init(configuration: GPTConfiguration, rows: Int, outputRows: Int) {
        self.rows = rows
        self.outputRows = outputRows
        let (C, H, V) = (configuration.embeddingSize, configuration.mlpSize, configuration.vocabularySize)
        storage = FloatBuffer(count: rows * (7 * C + 2 * H + 2) + outputRows * (C + V + 2))
        tokens = TokenBuffer(count: rows)
        targets = TokenBuffer(count: outputRows)
        var slicer = FloatBuffer.Slicer(storage)
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { slicer.take(count) }
        stream = take(rows * C)
        norm = take(rows * C)
        mean = take(rows)
        reciprocalStd = take(rows)
        qkv = take(rows * 3 * C)
        attention = take(rows * C)
        projection = take(rows * C)
        up = take(rows * H)
        activated = take(rows * H)
        head = take(outputRows * C)
        logits = take(outputRows * V)
        losses = take(outputRows)
        logSumExp = take(outputRows)
    }

    /// Where a block matrix's product goes.
    func output(of matrix: BlockMatrix) -> UnsafeMutablePointer<Float> {
        switch matrix {
        case .qkv: qkv
        case .attentionProjection, .mlpDown: projection
        case .mlpUp: up
        }
    }

    /// LayerNorm at `site` of `rows` rows into `norm` (or `head` for the final norm), as every cached
    /// pass computes it.
    func norm(
        _ site: NormSite, layer: Int, _ input: UnsafePointer<Float>, rows: Int, model: GPT, context: KernelContext
    ) -> UnsafePointer<Float> {
        let output = site == .final ? head : norm
        let (weight, bias) = model.layout.norm(site, layer: layer)
        let weights = UnsafePointer(model.parameters.pointer)
        Kernels.layerNormForward(
            output: output, mean: mean, reciprocalStandardDeviation: reciprocalStd, input: input, weight: weights + weight,
            bias: bias.map { weights + $0 }, rows: rows, channels: model.configuration.embeddingSize,
            epsilon: model.configuration.layerNormEpsilon, context: context)
        return UnsafePointer(output)
    }

    /// One of a block's matrices (with its bias) applied to `rows` rows, into its output buffer.
    func linear(
        _ matrix: BlockMatrix, layer: Int, _ input: UnsafePointer<Float>, rows: Int, model: GPT, context: KernelContext
    ) -> UnsafePointer<Float> {
        let output = output(of: matrix)
        let bias = model.layout.blocks[layer].matrix(matrix).bias
        model.inferenceWeights.blocks[layer][matrix].apply(
            output: output, input: input, bias: bias.map { UnsafePointer(model.parameters.pointer) + $0 }, rows: rows,
            context: context)
        return UnsafePointer(output)
    }
}

/// The block's operations over the key/value cache and the `WeightMatrix` seam. Norm outputs go to
/// `norm`, residual sums to `stream`, so a block never overwrites what it still reads.
struct CachedForward: ModelOperations {
    let model: GPT
    let scratch: InferenceScratch
    let cache: KVCache
    let context: KernelContext
    /// New positions per cache row.
    let count: Int
    let positions: LogitPositions
    let profile: InferenceProfile?
    /// Sees each layer's and head's attention probabilities (for pictures; nil in generation).
    var observer: AttentionObserver?
    private(set) var layer = 0

    init(
        model: GPT, scratch: InferenceScratch, cache: KVCache, context: KernelContext, count: Int, positions: LogitPositions,
        profile: InferenceProfile?
    ) {
        self.model = model
        self.scratch = scratch
        self.cache = cache
        self.context = context
        self.count = count
        self.positions = positions
        self.profile = profile
    }

    /// The clock when profiling (0 otherwise: no clock read).
    private var now: Double { profile == nil ? 0 : monotonicSeconds() }

    private var rows: Int { cache.batch * count }
    private var channels: Int { model.configuration.embeddingSize }

    mutating func enter(layer: Int) {
        self.layer = layer
    }

    mutating func embed() -> UnsafePointer<Float> {
        // Token embedding (the embedding table's rows, in whatever type they are stored) + position
        // encoding at absolute positions past + i.
        let start = now
        defer { profile?.add(.embedding, since: start) }
        model.inferenceWeights.tokenEmbedding.copyWeights(ofOutputs: scratch.tokens.pointer, count: rows, into: scratch.stream)
        let positions = model.positionTable + cache.length * channels
        for b in 0..<cache.batch {
            let row = scratch.stream + b * count * channels
            Kernels.add(output: row, UnsafePointer(row), positions, count: count * channels, context: context)
        }
        return UnsafePointer(scratch.stream)
    }

    mutating func norm(_ site: NormSite, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let start = now
        defer { profile?.add(.norms, since: start) }
        return scratch.norm(site, layer: layer, input, rows: site == .final ? headRows : rows, model: model, context: context)
    }

    mutating func linear(_ matrix: BlockMatrix, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let start = now
        defer { profile?.add(InferenceProfile.part(of: matrix), since: start) }
        return scratch.linear(matrix, layer: layer, input, rows: rows, model: model, context: context)
    }

    mutating func attend(_ qkv: UnsafePointer<Float>) -> UnsafePointer<Float> {
        // Append the new positions' keys and values to the cache, then attend over everything cached.
        let start = now
        defer { profile?.add(.attention, since: start) }
        let (C, NH, past) = (channels, model.configuration.headCount, cache.length)
        let HS = C / NH
        let (keyCache, valueCache) = cache.pointers(layer: layer)
        for row in 0..<rows {
            let (b, i) = (row / count, row % count)
            for h in 0..<NH {
                let slot = ((b * NH + h) * cache.capacity + past + i) * HS
                (keyCache + slot).update(from: qkv + row * 3 * C + C + h * HS, count: HS)
                (valueCache + slot).update(from: qkv + row * 3 * C + 2 * C + h * HS, count: HS)
            }
        }
        Kernels.cachedAttentionForward(
            output: scratch.attention, qkv: qkv, keyCache: keyCache, valueCache: valueCache, batch: cache.batch,
            count: count, past: past, capacity: cache.capacity, channels: C, heads: NH, context: context)
        if let observer { observe(qkv, observer) }
        return UnsafePointer(scratch.attention)
    }

    mutating func activate(_ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        let start = now
        defer { profile?.add(.activation, since: start) }
        Kernels.activationForward(
            output: scratch.activated, input: input, count: rows * model.configuration.mlpSize,
            activation: model.configuration.activation, context: context)
        return UnsafePointer(scratch.activated)
    }

    mutating func residual(_ stream: UnsafePointer<Float>, adding branch: UnsafePointer<Float>, from: ResidualBranch)
        -> UnsafePointer<Float>
    {
        let start = now
        defer { profile?.add(.residuals, since: start) }
        Kernels.add(output: scratch.stream, stream, branch, count: rows * channels, context: context)
        return UnsafePointer(scratch.stream)
    }

    /// Logit rows per cache row.
    private var perRow: Int { positions.perRow(count: count) }
    private var headRows: Int { cache.batch * perRow }

    mutating func outputRows(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
        guard perRow < count else { return x }
        for b in 0..<cache.batch {
            (scratch.head + b * perRow * channels).update(
                from: x + (b * count + count - perRow) * channels, count: perRow * channels)
        }
        return UnsafePointer(scratch.head)
    }

    mutating func unembed(_ x: UnsafePointer<Float>) {
        let start = now
        defer { profile?.add(.unembedding, since: start) }
        let unembedding = model.inferenceWeights.unembedding
        if perRow == 1 {
            // One row at a time: the matrix-vector kernels stream the unembedding once per row.
            let V = model.configuration.vocabularySize
            for b in 0..<cache.batch {
                unembedding.apply(
                    output: scratch.logits + b * V, input: x + b * channels, bias: nil, rows: 1, context: context)
            }
        } else {
            unembedding.apply(output: scratch.logits, input: x, bias: nil, rows: headRows, context: context)
        }
    }
}
