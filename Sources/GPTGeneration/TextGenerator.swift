import Foundation
import GPTModel
import GPTTensor
import GPTTokenizer

/// Why generation ended.
public enum FinishReason: String, Sendable {
    /// `maxTokens` were generated.
    case length
    /// A stop sequence appeared (it is not part of the text).
    case stop
    /// The model produced the end-of-text token.
    case endOfText = "eos"
    /// The context filled up under the `.stop` policy.
    case context
}

/// What to do when prompt plus generated text fill the context.
public enum ContextPolicy: String, Sendable, CaseIterable {
    /// Keep the last half of the context, re-encode it, and go on (positions restart).
    case slide
    /// Stop with finish reason `context`.
    case stop
}

/// One generation request besides its prompt.
public struct GenerationOptions: Sendable {
    public var maxTokens = 256
    public var sampling = SamplingParameters()
    /// Strings that end generation when they appear in the generated text (matched across token boundaries).
    public var stopSequences: [String] = []
    /// Keep going past the end-of-text token.
    public var ignoreEndOfText = false
    /// Report the chosen token's log-probability and this many alternatives per step (nil: none).
    public var logprobs: Int?
    public var contextPolicy = ContextPolicy.slide

    public init() {}

    public func validate() throws {
        let check = Validator(owner: "GenerationOptions")
        try check.require(maxTokens > 0, "maxTokens", "must be at least 1", maxTokens)
        if let logprobs { try check.require(logprobs >= 0 && logprobs <= 20, "logprobs", "must be between 0 and 20", logprobs) }
        try check.require(!stopSequences.contains(""), "stopSequences", "must not hold an empty string")
        try sampling.validate()
    }
}

/// A token's log-probability under the model (log-softmax of the raw logits) and the most likely alternatives.
public struct TokenLogprob: Sendable, Equatable {
    public let token: Int
    public let logprob: Float
    public let alternatives: [(token: Int, logprob: Float)]

    public static func == (left: TokenLogprob, right: TokenLogprob) -> Bool {
        left.token == right.token && left.logprob == right.logprob
            && left.alternatives.map(\.token) == right.alternatives.map(\.token)
    }
}

/// One step of a stream: the new token and the text it completes (never half a UTF-8
/// character; held back while it could still be the start of a stop sequence).
public struct GenerationEvent: Sendable {
    /// The token (−1 for the final event).
    public let token: Int
    public let text: String
    public let logprob: TokenLogprob?
    /// Set on the stream's final event.
    public var result: GenerationResult? = nil
}

/// A finished generation.
public struct GenerationResult: Sendable {
    public let tokens: [Int]
    public let text: String
    public let finishReason: FinishReason
    public let logprobs: [TokenLogprob]
    public let promptTokens: Int
    public let seconds: Double
}

/// Predict, sample, repeat — with a key/value cache: the prompt goes through in one batched
/// pass (prefill), then one token per step. A generator is one user of a (shared) model: it owns
/// its inference session, so run one generation at a time on it and make one generator per
/// concurrent request.
public final class TextGenerator {
    public let model: GPT
    public let tokenizer: any Tokenizer
    public let session: InferenceSession

    public init(model: GPT, tokenizer: any Tokenizer, parallelism: Parallelism) {
        self.model = model
        self.tokenizer = tokenizer
        session = InferenceSession(model: model, parallelism: parallelism)
    }

    /// Generates after `prompt`, calling `onEvent` as tokens arrive (return false to stop).
    /// A prompt longer than the context keeps its last context-length tokens.
    @discardableResult
    public func generate(
        prompt: [Int], options: GenerationOptions, generator: inout RandomGenerator,
        onEvent: (GenerationEvent) -> Bool = { _ in true }
    ) throws -> GenerationResult {
        try options.validate()
        guard !prompt.isEmpty else { throw GenerationError("generation needs at least one prompt token") }
        let start = Date()
        let window = model.configuration.contextLength
        let cache = KVCache(configuration: model.configuration)
        var history = Array(prompt.suffix(window))
        var logits = try session.forward(tokens: history.map(Int32.init), count: history.count, cache: cache)
        var sampler = Sampler(parameters: options.sampling)
        var text = GeneratedText(tokenizer: tokenizer, stopSequences: options.stopSequences)
        var tokens: [Int] = []
        var logprobs: [TokenLogprob] = []
        var finish = FinishReason.length
        for step in 0..<options.maxTokens {
            // Only ids the tokenizer can decode are candidates: a model whose vocabulary is padded
            // beyond its tokenizer's (nanoGPT pads GPT-2's 50,257 to 50,304) never emits a token that
            // would vanish from the text.
            let decodable = UnsafeBufferPointer(rebasing: logits[0..<min(logits.count, tokenizer.vocabularySize)])
            let next = sampler.sample(decodable, history: history, step: step, steps: options.maxTokens, generator: &generator)
            let logprob = options.logprobs.map { Self.logprob(of: next, in: logits, alternatives: $0) }
            if next == tokenizer.endOfTextToken && !options.ignoreEndOfText {
                finish = .endOfText
                break
            }
            tokens.append(next)
            history.append(next)
            if let logprob { logprobs.append(logprob) }
            let (piece, stopped) = text.append(next)
            if !onEvent(GenerationEvent(token: next, text: piece, logprob: logprob)) || stopped {
                finish = stopped ? .stop : .length
                break
            }
            if step == options.maxTokens - 1 { break }
            if cache.length == cache.capacity {
                guard options.contextPolicy == .slide else {
                    finish = .context
                    break
                }
                // Slide: keep the last half of the context and re-encode it at positions 0….
                cache.reset()
                let kept = Array(history.suffix(window / 2))
                logits = try session.forward(tokens: kept.map(Int32.init), count: kept.count, cache: cache)
                continue
            }
            logits = try session.forward(tokens: [Int32(next)], count: 1, cache: cache)
        }
        let remainder = text.finish()
        if !remainder.isEmpty { _ = onEvent(GenerationEvent(token: -1, text: remainder, logprob: nil)) }
        return GenerationResult(
            tokens: text.keptTokens(tokens), text: text.text, finishReason: finish, logprobs: logprobs,
            promptTokens: min(prompt.count, window), seconds: Date().timeIntervalSince(start))
    }

    /// The same generation as an asynchronous stream of events. It runs in a task of its own
    /// (with a session of its own, so this generator stays free) that stops within one token when
    /// the consumer stops listening or its task is cancelled; the stream then ends with
    /// `CancellationError`.
    public func stream(prompt: [Int], options: GenerationOptions, seed: UInt64) -> AsyncThrowingStream<GenerationEvent, Error> {
        let (model, tokenizer, parallelism) = (model, tokenizer, session.context.parallelism)
        return AsyncThrowingStream { continuation in
            let task = Task.detached {
                let generator = TextGenerator(model: model, tokenizer: tokenizer, parallelism: parallelism)
                var random = RandomGenerator(seed: seed)
                do {
                    let result = try generator.generate(prompt: prompt, options: options, generator: &random) { event in
                        continuation.yield(event)
                        return !Task.isCancelled
                    }
                    try Task.checkCancellation()
                    continuation.yield(GenerationEvent(token: -1, text: "", logprob: nil, result: result))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// log-softmax of the raw logits at `token`, with the `alternatives` most likely tokens.
    static func logprob(of token: Int, in logits: UnsafeBufferPointer<Float>, alternatives: Int) -> TokenLogprob {
        var maximum = -Float.infinity
        for value in logits { maximum = max(maximum, value) }
        var sum: Double = 0
        for value in logits { sum += Double(exp(value - maximum)) }
        let normaliser = maximum + Float(log(sum))
        var best: [(token: Int, logprob: Float)] = []
        if alternatives > 0 {
            for (index, value) in logits.enumerated() where best.count < alternatives || value > best.last!.logprob {
                best.append((index, value))
                best.sort { $0.logprob > $1.logprob }
                if best.count > alternatives { best.removeLast() }
            }
        }
        return TokenLogprob(
            token: token, logprob: logits[token] - normaliser,
            alternatives: best.map { ($0.token, $0.logprob - normaliser) })
    }
}

/// The generated text as it grows: UTF-8-safe pieces, stop sequences matched across token
/// boundaries, and the text after a stop sequence cut off.
public struct GeneratedText {
    let tokenizer: any Tokenizer
    let stops: [[UInt8]]
    private var bytes: [UInt8] = []
    private var emitted = 0
    private var stopAt: Int?
    private var tokenEnds: [Int] = []

    public init(tokenizer: any Tokenizer, stopSequences: [String]) {
        self.tokenizer = tokenizer
        stops = stopSequences.map { Array($0.utf8) }
    }

    /// Adds a token; returns the text that can be shown now and whether a stop sequence appeared.
    public mutating func append(_ token: Int) -> (String, Bool) {
        let before = bytes.count
        bytes += tokenizer.decodeBytes([token])
        tokenEnds.append(bytes.count)
        // A stop sequence may start up to its length − 1 bytes before this token.
        for stop in stops {
            let from = max(0, before - stop.count + 1)
            if bytes.count >= stop.count, let index = firstIndex(of: stop, from: from) {
                stopAt = min(stopAt ?? index, index)
            }
        }
        if let stopAt {
            let piece = String(decoding: bytes[emitted..<max(emitted, stopAt)], as: UTF8.self)
            emitted = max(emitted, stopAt)
            return (piece, true)
        }
        // Hold back a tail that could still become a stop sequence, and any partial character.
        var safe = bytes.count
        for stop in stops {
            for length in stride(from: min(stop.count - 1, bytes.count), through: 1, by: -1)
            where Array(bytes[(bytes.count - length)...]) == Array(stop[0..<length]) {
                safe = min(safe, bytes.count - length)
                break
            }
        }
        safe = StreamingDecoder.characterBoundary(in: bytes, before: safe, from: emitted)
        let piece = String(decoding: bytes[emitted..<safe], as: UTF8.self)
        emitted = safe
        return (piece, false)
    }

    /// Whatever is left (invalid UTF-8 becomes U+FFFD).
    public mutating func finish() -> String {
        let end = stopAt ?? bytes.count
        guard emitted < end else { return "" }
        defer { emitted = end }
        return String(decoding: bytes[emitted..<end], as: UTF8.self)
    }

    public var text: String { String(decoding: bytes[0..<(stopAt ?? bytes.count)], as: UTF8.self) }

    /// The tokens whose bytes start before the stop sequence.
    func keptTokens(_ tokens: [Int]) -> [Int] {
        guard let stopAt else { return tokens }
        var kept: [Int] = []
        var start = 0
        for (token, end) in zip(tokens, tokenEnds) {
            if start >= stopAt { break }
            kept.append(token)
            start = end
        }
        return kept
    }

    private func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for index in start...(bytes.count - needle.count) where bytes[index] == needle[0] {
            if Array(bytes[index..<(index + needle.count)]) == needle { return index }
        }
        return nil
    }
}
