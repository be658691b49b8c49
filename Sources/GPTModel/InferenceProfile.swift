import GPTTensor

/// Where the time of cached forward passes goes, by operation: filled by an `InferenceSession` whose
/// `profile` is set (the benchmark's breakdown). Each product's time includes waiting for the other
/// threads to finish their rows (the join).
public final class InferenceProfile {
    public enum Part: String, CaseIterable, Sendable {
        case embedding, norms, qkv = "attention qkv", attention = "attention over the cache",
            attentionProjection = "attention projection", mlpUp = "MLP up", activation = "GELU/ReLU", mlpDown = "MLP down",
            residuals, unembedding
    }

    public private(set) var seconds: [Part: Double] = [:]
    /// Forward passes measured.
    public internal(set) var passes = 0

    public init() {}

    func add(_ part: Part, since start: Double) {
        seconds[part, default: 0] += monotonicSeconds() - start
    }

    public func reset() {
        seconds = [:]
        passes = 0
    }

    static func part(of matrix: BlockMatrix) -> Part {
        switch matrix {
        case .qkv: .qkv
        case .attentionProjection: .attentionProjection
        case .mlpUp: .mlpUp
        case .mlpDown: .mlpDown
        }
    }
}
