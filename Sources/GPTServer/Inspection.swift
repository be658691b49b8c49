import Foundation
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTVisualization
import Hummingbird
import Synchronization

/// The playground's look inside the model, as small JSON endpoints: the next-token logits after a
/// text, a prompt's attention, and its tokens on the embedding map. One inference session on its own
/// serial queue runs them (one thread, beside the scheduler's), so a picture never holds the
/// server's cooperative threads.
final class Inspector: Sendable {
    let model: GPT
    let tokenizer: any Tokenizer
    private let queue = DispatchQueue(label: "gpt-inspect")
    private let session: Mutex<InferenceSession>
    /// The last prompt's attention (picking another layer or head reuses it).
    private let lastAttention = Mutex<(tokens: [Int32], weights: [[[Float]]])?>(nil)
    /// The embedding map's axes, computed once from a sample of the vocabulary.
    private let map = Mutex<EmbeddingAxes?>(nil)

    /// Tokens the attention picture shows at most (the prompt's last ones).
    static let attentionTokens = 128
    static let topTokens = 40

    init(model: GPT, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        session = Mutex(InferenceSession(model: model, parallelism: Parallelism(threads: 1)))
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable (InferenceSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.session.withLock { try work($0) } })
            }
        }
    }

    /// The prompt's tokens, the last `limit` of them (the start token for empty text).
    func tokens(_ text: String, limit: Int) throws -> [Int32] {
        let ids: [Int]
        do {
            ids = try tokenizer.encode(text)
        } catch {
            throw APIError.badRequest("'prompt' cannot be tokenized: \(error)", param: "prompt")
        }
        return (ids.isEmpty ? [tokenizer.startToken] : ids.suffix(limit)).map(Int32.init)
    }

    func piece(_ token: Int) -> JSONValue { .string(tokenizer.decode([token])) }

    /// The logits after `text` (base64 little-endian Float32 over the decodable vocabulary, so the page
    /// can apply any temperature and cut itself) and the most likely tokens with their pieces.
    func nextToken(_ text: String) async throws -> JSONValue {
        let tokens = try tokens(text, limit: model.configuration.contextLength)
        let V = min(tokenizer.vocabularySize, model.configuration.vocabularySize)
        let logits: [Float] = try await run { session in
            let all = try session.forward(
                tokens: tokens, count: tokens.count, cache: KVCache(configuration: self.model.configuration))
            return Array(all[0..<V])
        }
        let top = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(Self.topTokens)
        let bytes = logits.withUnsafeBytes { Data($0) }
        return [
            "tokens": .int(tokens.count), "vocabulary": .int(V), "logits": .string(bytes.base64EncodedString()),
            "top": .array(top.map { ["id": .int($0), "piece": piece($0), "logit": .float(logits[$0])] }),
        ]
    }

    /// One layer's and head's attention over the prompt's last `attentionTokens` tokens.
    func attention(_ text: String, layer: Int, head: Int) async throws -> JSONValue {
        let tokens = try tokens(text, limit: min(Self.attentionTokens, model.configuration.contextLength))
        let weights: [[[Float]]]
        if let last = lastAttention.withLock({ $0 }), last.tokens == tokens {
            weights = last.weights
        } else {
            weights = try await run { try $0.attentionWeights(tokens: tokens) }
            lastAttention.withLock { $0 = (tokens, weights) }
        }
        let T = tokens.count
        let rows = (0..<T).map { q in JSONValue.array((0...q).map { .number((Double(weights[layer][head][q * T + $0]) * 1e4).rounded() / 1e4) }) }
        return [
            "tokens": .array(tokens.map { piece(Int($0)) }), "layer": .int(layer), "head": .int(head),
            "layers": .int(model.configuration.layerCount), "heads": .int(model.configuration.headCount),
            "weights": .array(rows), "cropped": .bool(T == Self.attentionTokens),
        ]
    }

    /// The prompt's distinct tokens on the first two principal axes of the token embeddings, over a
    /// grey background of a sample of the vocabulary.
    func embeddings(_ text: String) async throws -> JSONValue {
        let tokens = try tokens(text, limit: model.configuration.contextLength)
        let axes = try await embeddingAxes()
        var seen = Set<Int32>()
        let distinct = tokens.filter { seen.insert($0).inserted }
        func points(_ ids: [Int32]) -> JSONValue {
            let vectors = embedding(of: ids)
            return .array(zip(ids, vectors).map { id, vector in
                let (x, y) = axes.project(vector)
                return ["id": .int(Int(id)), "piece": piece(Int(id)), "x": .number(x), "y": .number(y)]
            })
        }
        return [
            "method": .string("PCA of \(axes.sample.count) token embeddings"), "points": points(distinct),
            "background": points(Array(axes.sample.prefix(400))),
        ]
    }

    private func embedding(of ids: [Int32]) -> [[Float]] {
        let C = model.configuration.embeddingSize
        var values = [Float](repeating: 0, count: ids.count * C)
        ids.withUnsafeBufferPointer { ids in
            values.withUnsafeMutableBufferPointer { out in
                model.inferenceWeights.tokenEmbedding.copyWeights(ofOutputs: ids.baseAddress!, count: ids.count, into: out.baseAddress!)
            }
        }
        return (0..<ids.count).map { Array(values[($0 * C)..<(($0 + 1) * C)]) }
    }

    private func embeddingAxes() async throws -> EmbeddingAxes {
        if let axes = map.withLock({ $0 }) { return axes }
        let V = min(tokenizer.vocabularySize, model.configuration.vocabularySize)
        // Evenly spaced ids, interleaved so that any prefix spreads over the whole vocabulary.
        let count = min(V, 1000)
        let sample = (0..<count).map { Int32(($0 * 7919 % count) * V / count) }
        let vectors = embedding(of: sample)
        let axes = try await run { _ in EmbeddingAxes(sample: sample, vectors: vectors) }
        map.withLock { $0 = axes }
        return axes
    }
}

/// Two principal axes of a sample of token embeddings, and the sample's mean.
struct EmbeddingAxes: Sendable {
    let sample: [Int32]
    let mean: [Double]
    let axes: [[Double]]

    init(sample: [Int32], vectors: [[Float]]) {
        self.sample = sample
        let C = vectors.first?.count ?? 0
        var mean = [Double](repeating: 0, count: C)
        for vector in vectors { for k in 0..<C { mean[k] += Double(vector[k]) / Double(vectors.count) } }
        self.mean = mean
        axes = PrincipalComponents(points: vectors, components: 2, iterations: 100).axes
    }

    func project(_ vector: [Float]) -> (Double, Double) {
        let centred = vector.indices.map { Double(vector[$0]) - mean[$0] }
        func along(_ axis: [Double]) -> Double { zip(axis, centred).reduce(0) { $0 + $1.0 * $1.1 } }
        return (axes.count > 0 ? along(axes[0]) : 0, axes.count > 1 ? along(axes[1]) : 0)
    }
}

extension ModelServer {
    func inspectNextToken(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        return Self.json(try await inspector.nextToken(try prompt(fields)))
    }

    func inspectAttention(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        let c = model.configuration
        let layer = try fields.integer("layer", in: 0...(c.layerCount - 1)) ?? 0
        let head = try fields.integer("head", in: 0...(c.headCount - 1)) ?? 0
        return Self.json(try await inspector.attention(try prompt(fields), layer: layer, head: head))
    }

    func inspectEmbeddings(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        return Self.json(try await inspector.embeddings(try prompt(fields)))
    }

    private func prompt(_ fields: JSONFields) throws -> String {
        guard let text = try fields.string("prompt") else { throw fields.wrongType("prompt", "a string") }
        return text
    }
}
