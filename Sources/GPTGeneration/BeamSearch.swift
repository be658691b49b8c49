import Foundation
import GPTModel
import GPTTensor

/// A finished beam: its tokens, the sum of their log-probabilities, and the score beams are
/// ranked by: sum / length^lengthPenalty (as Hugging Face transformers).
public struct BeamHypothesis: Sendable {
    public let tokens: [Int]
    public let logprobSum: Float
    public let score: Float
    /// The decoded tokens, cut before a stop sequence if one ended the hypothesis.
    public let text: String
    /// Why it ended: end-of-text, a stop sequence, `maxTokens`, or the context (no room for more).
    public let finishReason: FinishReason
    /// Each token's log-probability (with the most likely alternatives) when asked for.
    public let logprobs: [TokenLogprob]
}

/// Beam search settings.
public struct BeamSearchOptions: Sendable {
    public var beams = 4
    public var maxTokens = 32
    /// Exponent on the length in the score; > 0 favours longer sequences, < 0 shorter ones.
    public var lengthPenalty: Float = 1
    /// Stop as soon as `beams` hypotheses have finished (else: when no running beam can still beat them).
    public var earlyStopping = false
    /// How many hypotheses to return, best first (≤ beams).
    public var returnCount = 1
    public var ignoreEndOfText = false
    /// A hypothesis whose text contains one of these ends there (the stop is not part of it).
    public var stopSequences: [String] = []
    /// Record each token's log-probability and this many alternatives (nil: none).
    public var logprobs: Int?

    public init() {}

    /// More beams than this cost minutes per token and find nothing greedy-with-restarts would not.
    public static let maximumBeams = 64

    public func validate() throws {
        let check = Validator(owner: "BeamSearchOptions")
        try check.require(beams >= 1 && beams <= Self.maximumBeams, "beams", "must be between 1 and \(Self.maximumBeams)", beams)
        try check.require(maxTokens >= 1, "maxTokens", "must be at least 1", maxTokens)
        try check.require(lengthPenalty.isFinite, "lengthPenalty", "must be finite", lengthPenalty)
        try check.require(returnCount >= 1 && returnCount <= beams, "returnCount", "must be between 1 and the number of beams", returnCount)
        try check.require(stopSequences.allSatisfy { !$0.isEmpty }, "stopSequences", "must not be empty strings")
        if let logprobs { try check.require(logprobs >= 0 && logprobs <= 20, "logprobs", "must be between 0 and 20", logprobs) }
    }
}

extension TextGenerator {
    /// Beam search: keeps the `beams` highest-scoring continuations, one cache row each, and
    /// returns the best `returnCount` finished hypotheses.
    public func beamSearch(prompt: [Int], options: BeamSearchOptions) throws -> [BeamHypothesis] {
        try options.validate()
        guard !prompt.isEmpty else { throw GenerationError("beam search needs at least one prompt token") }
        let config = model.configuration
        let V = config.vocabularySize
        let B = options.beams
        guard B <= V else {
            throw InvalidValue(owner: "BeamSearchOptions", field: "beams", rule: "must be at most the vocabulary size \(V)", value: "\(B)")
        }
        let kept = Array(prompt.suffix(config.contextLength - 1))
        let steps = min(options.maxTokens, config.contextLength - kept.count)
        let cache = KVCache(configuration: config, batch: B)
        // Valid until the next forward pass, which comes after the candidates are scored.
        var logits = try session.forward(
            tokens: Array(repeating: kept.map(Int32.init), count: B).flatMap { $0 }, count: kept.count, cache: cache)
        typealias Beam = (tokens: [Int], sum: Float, logprobs: [TokenLogprob])
        var running: [Beam] = [([], 0, [])] + Array(repeating: ([], -.infinity, []), count: B - 1)
        var finished: [BeamHypothesis] = []
        let stops = options.stopSequences.map { Array($0.utf8) }
        func score(_ sum: Float, _ length: Int) -> Float { sum / pow(Float(max(length, 1)), options.lengthPenalty) }
        func finish(_ beam: Beam, _ reason: FinishReason, text: String? = nil) {
            finished.append(BeamHypothesis(
                tokens: beam.tokens, logprobSum: beam.sum, score: score(beam.sum, beam.tokens.count),
                text: text ?? tokenizer.decode(beam.tokens), finishReason: reason, logprobs: beam.logprobs))
            finished.sort { $0.score > $1.score }
            if finished.count > B { finished.removeLast() }
        }
        /// The text before the first stop sequence, if the tokens' bytes contain one.
        func textBeforeStop(_ tokens: [Int]) -> String? {
            guard !stops.isEmpty else { return nil }
            let bytes = tokenizer.decodeBytes(tokens)
            let cut = stops.compactMap { stop in bytes.firstRange(of: stop)?.lowerBound }.min()
            return cut.map { String(decoding: bytes[..<$0], as: UTF8.self) }
        }
        for step in 0..<steps {
            // Candidates: every (beam, token) with its total log-probability; keep the best 2B.
            var candidates: [(sum: Float, beam: Int, token: Int)] = []
            for beam in 0..<B where running[beam].sum > -.infinity {
                let row = logits[(beam * V)..<((beam + 1) * V)]
                let maximum = row.max()!
                let normaliser = maximum + log(row.reduce(Float(0)) { $0 + exp($1 - maximum) })
                for token in 0..<min(V, tokenizer.vocabularySize) {  // only ids the tokenizer can decode
                    let total = running[beam].sum + row[beam * V + token] - normaliser
                    if candidates.count < 2 * B || total > candidates.last!.sum {
                        let position = candidates.firstIndex { $0.sum < total } ?? candidates.count
                        candidates.insert((total, beam, token), at: position)
                        if candidates.count > 2 * B { candidates.removeLast() }
                    }
                }
            }
            var next: [Beam] = []
            var sources: [Int] = []
            for (rank, candidate) in candidates.enumerated() {
                let parent = running[candidate.beam]
                var logprobs = parent.logprobs
                if let alternatives = options.logprobs {
                    let row = UnsafeBufferPointer(rebasing: logits[(candidate.beam * V)..<((candidate.beam + 1) * V)])
                    logprobs.append(Self.logprob(of: candidate.token, in: row, alternatives: alternatives))
                }
                if candidate.token == tokenizer.endOfTextToken && !options.ignoreEndOfText {
                    if rank < B { finish((parent.tokens, candidate.sum, logprobs), .endOfText) }
                    continue
                }
                let beam: Beam = (parent.tokens + [candidate.token], candidate.sum, logprobs)
                if let text = textBeforeStop(beam.tokens) {
                    if rank < B { finish(beam, .stop, text: text) }
                    continue
                }
                next.append(beam)
                sources.append(candidate.beam)
                if next.count == B { break }
            }
            running = next
            let bestRunning = running.map { score($0.sum, $0.tokens.count) }.max() ?? -.infinity
            let done = finished.count >= B
                && (options.earlyStopping || bestRunning <= finished.last!.score)
            if done || running.isEmpty || step == steps - 1 { break }
            while running.count < B {  // too few live candidates: pad with dead beams
                running.append(([], -.infinity, []))
                sources.append(sources.first ?? 0)
            }
            cache.reorder(sources)
            logits = try session.forward(tokens: running.map { Int32($0.tokens.last ?? 0) }, count: 1, cache: cache)
        }
        // Beams still running ran out of tokens: of --max-tokens, or of room in the context.
        let limit: FinishReason = steps < options.maxTokens ? .context : .length
        for beam in running where beam.sum > -.infinity { finish(beam, limit) }
        return Array(finished.prefix(options.returnCount))
    }
}
