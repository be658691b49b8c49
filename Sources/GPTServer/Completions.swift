import Foundation
import GPTGeneration
import Hummingbird

/// `POST /v1/completions`, OpenAI's legacy text completions: several prompts × `n` choices,
/// `echo` with prompt log-probabilities (so evaluation harnesses can score text), legacy `logprobs`,
/// streaming.
extension ModelServer {
    static let unsupportedCompletionFields = [
        "suffix": "this server does not insert text (no fill-in-the-middle)",
    ]

    func completions(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        try fields.reject(Self.unsupportedCompletionFields)
        let settings = try GenerationFields(fields, vocabularySize: model.configuration.vocabularySize, maxChoices: configuration.parallel)
        if let bestOf = try fields.integer("best_of", in: 1...128), bestOf != settings.choices {
            throw fields.outOfRange("best_of", "must equal n (\(settings.choices)): this server returns every choice it samples")
        }
        let echo = try fields.bool("echo") ?? false
        let logprobs = try fields.integer("logprobs", in: 0...5)
        let maxTokens = try fields.integer("max_tokens", in: 0...contextLength) ?? 16
        let prompts = try prompts(fields)
        var requests: [CompletionRequest] = []
        for prompt in prompts {
            guard prompt.count + maxTokens <= contextLength else {
                throw APIError.badRequest(
                    "this model's context is \(contextLength) tokens; the prompt has \(prompt.count) and max_tokens asks for \(maxTokens) more",
                    param: "max_tokens", code: "context_length_exceeded")
            }
            var scheduled = settings.request(prompt: prompt, maxTokens: maxTokens, timeout: configuration.timeout)
            scheduled.logprobs = logprobs
            scheduled.promptLogprobs = echo && logprobs != nil
            requests.append(scheduled)
        }
        let streams = try submit(requests)
        let shape = CompletionShape(
            id: "cmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970), model: configuration.alias,
            prompts: prompts, choices: settings.choices, echo: echo, logprobs: logprobs != nil)
        let tokenizer = tokenizer
        if settings.stream {
            let includeUsage = settings.includeUsage
            return ServerEvents.response(request: request) { write in
                var state = CompletionStream(shape: shape, tokenizer: tokenizer)
                for chunk in state.start() { try await write(chunk) }
                for try await (prompt, event) in ServerEvents.merge(streams, metrics: self.metrics) {
                    for chunk in state.chunks(prompt: prompt, event: event) { try await write(chunk) }
                }
                if includeUsage { try await write(shape.object(choices: [], usage: state.usage)) }
            }
        }
        let results = try await request.body.consumeWithCancellationOnInboundClose { _ in
            try await self.collect(streams, choices: settings.choices)
        }
        return Self.json(shape.response(results, tokenizer: tokenizer), closing: true)
    }

    /// `prompt` as a string, strings, token ids or arrays of token ids.
    func prompts(_ fields: JSONFields) throws -> [[Int]] {
        let invalid = fields.wrongType("prompt", "a string, an array of strings, an array of token ids or an array of such arrays")
        switch fields.values["prompt"] ?? .null {
        case .string(let text): return [try encode(text, field: "prompt")]
        case .array(let items) where !items.isEmpty:
            switch items[0] {
            case .string:
                return try items.map { item in
                    guard case .string(let text) = item else { throw invalid }
                    return try encode(text, field: "prompt")
                }
            case .number: return [try tokenIDs(items, field: "prompt")]
            case .array:
                return try items.map { item in
                    guard case .array(let ids) = item else { throw invalid }
                    return try tokenIDs(ids, field: "prompt")
                }
            default: throw invalid
            }
        case .array: throw APIError.badRequest("'prompt' is empty", param: "prompt")
        default: throw invalid
        }
    }

    /// Submits every request or none: a refusal cancels those already queued.
    func submit(_ requests: [CompletionRequest]) throws -> [AsyncThrowingStream<CompletionEvent, Error>] {
        var streams: [AsyncThrowingStream<CompletionEvent, Error>] = []
        for (index, request) in requests.enumerated() {
            guard !request.prompt.isEmpty else {
                throw APIError.badRequest("prompt \(index) has no tokens", param: "prompt")
            }
            do {
                streams.append(try scheduler.submit(request))
            } catch {
                throw ServerEvents.apiError(error)
            }
        }
        return streams
    }

    /// Every choice of every request, collected (request-major).
    func collect(_ streams: [AsyncThrowingStream<CompletionEvent, Error>], choices: Int) async throws -> [CollectedPrompt] {
        var results = streams.map { _ in CollectedPrompt(choices: Array(repeating: ChoiceResult(), count: choices)) }
        do {
            for try await (prompt, event) in ServerEvents.merge(streams, metrics: self.metrics) {
                switch event {
                case .promptScored(let tokens): results[prompt].promptTokens = tokens
                case .token(let choice, _, _, _), .finished(let choice, _, _, _): results[prompt].choices[choice].add(event)
                }
            }
        } catch {
            throw ServerEvents.apiError(error)
        }
        return results
    }
}

/// What one prompt's request produced.
struct CollectedPrompt {
    var choices: [ChoiceResult]
    var promptTokens: [PromptToken] = []
}
