import GPTTensor

/// One sequence's share of a batched step: its own cache (batch 1), the new tokens that go through at
/// positions cache.length ..< cache.length + tokens.count, and which of their logits to compute.
public struct SequenceStep {
    public let cache: KVCache
    public let tokens: [Int32]
    /// Logits of every new position (scoring a prompt) instead of only the last.
    public let allLogits: Bool

    public init(cache: KVCache, tokens: [Int32], allLogits: Bool = false) {
        self.cache = cache
        self.tokens = tokens
        self.allLogits = allLogits
    }

    var logitRows: Int { allLogits ? tokens.count : 1 }
}

/// Inference over many sequences at once, each at its own position with its own cache — continuous
/// batching's step: prompts (or chunks of them) and single decode tokens of different sequences go
/// through one pass, the weights read once for all. Its kernel context is batch-invariant, and
/// attention runs query by query over each sequence's own keys, so a sequence's logits are the same
/// bits whatever else shares the step and however its prompt was cut into chunks.
public final class BatchedInferenceSession {
    public let model: GPT
    public let context: KernelContext
    private var scratch: InferenceScratch?
    /// Logits of the last step: where each sequence's rows start (in rows of V).
    private var logitOffsets: [Int] = []

    public init(model: GPT, parallelism: Parallelism, level: KernelLevel = .best) {
        self.model = model
        context = KernelContext(parallelism: parallelism, level: level, batchInvariant: true)
    }

    /// Runs one step and returns each sequence's logits: `tokens.count` rows of V when `allLogits`,
    /// else one (its last new position). The buffers stay valid until the next call.
    public func forward(_ steps: [SequenceStep]) throws -> [UnsafeBufferPointer<Float>] {
        guard !steps.isEmpty else { return [] }
        let V = model.configuration.vocabularySize
        var rows = 0
        var outputRows = 0
        for step in steps {
            guard !step.tokens.isEmpty, step.cache.batch == 1 else {
                throw ModelError("every sequence of a batched step needs at least one new token and a cache of one row")
            }
            guard step.cache.length + step.tokens.count <= step.cache.capacity else {
                throw ModelError(
                    "the cache holds \(step.cache.length) of \(step.cache.capacity) positions; \(step.tokens.count) more do not fit")
            }
            try model.checkTokens(step.tokens)
            rows += step.tokens.count
            outputRows += step.logitRows
        }
        let s: InferenceScratch
        if let current = scratch, current.rows >= rows, current.outputRows >= outputRows {
            s = current
        } else {
            s = InferenceScratch(configuration: model.configuration, rows: rows, outputRows: outputRows)
            scratch = s
        }
        var row = 0
        for step in steps {
            for (index, token) in step.tokens.enumerated() { s.tokens.pointer[row + index] = token }
            row += step.tokens.count
        }
        var pass = BatchedForward(model: model, scratch: s, steps: steps, context: context)
        model.forward(&pass)
        var results: [UnsafeBufferPointer<Float>] = []
        var offset = 0
        for step in steps {
            step.cache.length += step.tokens.count
            let logits = UnsafeBufferPointer(start: s.logits + offset * V, count: step.logitRows * V)
            try InferenceSession.requireFinite(logits, model: model)
            results.append(logits)
            offset += step.logitRows
        }
        return results
    }
}

/// The block's operations over sequences of different lengths, each with its own cache.
struct BatchedForward: ModelOperations {
    let model: GPT
    let scratch: InferenceScratch
    let steps: [SequenceStep]
    let context: KernelContext
    /// Per new row: its sequence and its absolute position.
    private let rowSequence: [Int]
    private let rowPosition: [Int]
    /// Each sequence's key and value storage, per layer (gathered once per step).
    private let caches: [[(keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)]]
    private let headRows: Int
    private var layer = 0

    init(model: GPT, scratch: InferenceScratch, steps: [SequenceStep], context: KernelContext) {
        self.model = model
        self.scratch = scratch
        self.steps = steps
        self.context = context
        var sequence: [Int] = []
        var position: [Int] = []
        for (index, step) in steps.enumerated() {
            for i in 0..<step.tokens.count {
                sequence.append(index)
                position.append(step.cache.length + i)
            }
        }
        rowSequence = sequence
        rowPosition = position
        caches = (0..<model.configuration.layerCount).map { layer in steps.map { $0.cache.pointers(layer: layer) } }
        headRows = steps.reduce(0) { $0 + $1.logitRows }
    }

    private var rows: Int { rowSequence.count }
    private var channels: Int { model.configuration.embeddingSize }

    mutating func enter(layer: Int) {
        self.layer = layer
    }

    mutating func embed() -> UnsafePointer<Float> {
        let C = channels
        model.inferenceWeights.tokenEmbedding.copyWeights(ofOutputs: scratch.tokens.pointer, count: rows, into: scratch.stream)
        for row in 0..<rows {
            let x = scratch.stream + row * C
            Kernels.add(output: x, UnsafePointer(x), model.positionTable + rowPosition[row] * C, count: C, context: context)
        }
        return UnsafePointer(scratch.stream)
    }

    mutating func norm(_ site: NormSite, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        scratch.norm(site, layer: layer, input, rows: site == .final ? headRows : rows, model: model, context: context)
    }

    mutating func linear(_ matrix: BlockMatrix, _ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        scratch.linear(matrix, layer: layer, input, rows: rows, model: model, context: context)
    }

    mutating func attend(_ qkv: UnsafePointer<Float>) -> UnsafePointer<Float> {
        // Each new position's keys and values into its sequence's cache, then each (position, head)
        // attends over its own sequence's positions 0 ... its own, one query at a time.
        let (C, NH) = (channels, model.configuration.headCount)
        let HS = C / NH
        let capacity = model.configuration.contextLength
        let caches = caches[layer]
        for row in 0..<rows {
            let (keys, values) = caches[rowSequence[row]]
            for h in 0..<NH {
                let slot = (h * capacity + rowPosition[row]) * HS
                (keys + slot).update(from: qkv + row * 3 * C + C + h * HS, count: HS)
                (values + slot).update(from: qkv + row * 3 * C + 2 * C + h * HS, count: HS)
            }
        }
        let scores = context.scratch(count: context.parallelism.threads * capacity)
        let (output, sequence, position) = (scratch.attention, rowSequence, rowPosition)
        let context = context
        context.parallelism.forEachChunk(of: rows * NH) { chunk, range in
            let rowScores = scores + chunk * capacity
            for item in range {
                let (row, h) = (item / NH, item % NH)
                let (keys, values) = caches[sequence[row]]
                Kernels.attentionDecode(
                    output: output + row * C + h * HS, query: qkv + row * 3 * C + h * HS, keys: keys + h * capacity * HS,
                    values: values + h * capacity * HS, length: position[row] + 1, headSize: HS, stride: HS,
                    scores: rowScores, context: context)
            }
        }
        return UnsafePointer(scratch.attention)
    }

    mutating func activate(_ input: UnsafePointer<Float>) -> UnsafePointer<Float> {
        Kernels.activationForward(
            output: scratch.activated, input: input, count: rows * model.configuration.mlpSize,
            activation: model.configuration.activation, context: context)
        return UnsafePointer(scratch.activated)
    }

    mutating func residual(_ stream: UnsafePointer<Float>, adding branch: UnsafePointer<Float>, from: ResidualBranch)
        -> UnsafePointer<Float>
    {
        Kernels.add(output: scratch.stream, stream, branch, count: rows * channels, context: context)
        return UnsafePointer(scratch.stream)
    }

    mutating func outputRows(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
        // Each sequence's last row, or all of its rows.
        let C = channels
        var source = 0
        var target = 0
        for step in steps {
            let count = step.tokens.count
            let kept = step.logitRows
            (scratch.head + target * C).update(from: x + (source + count - kept) * C, count: kept * C)
            source += count
            target += kept
        }
        return UnsafePointer(scratch.head)
    }

    mutating func unembed(_ x: UnsafePointer<Float>) {
        model.inferenceWeights.unembedding.apply(output: scratch.logits, input: x, bias: nil, rows: headRows, context: context)
    }
}
