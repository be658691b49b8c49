import Foundation
import GPTGeneration
import GPTTokenizer
import Hummingbird

/// `POST /v1/chat/completions`: messages rendered through the chat template into one prompt,
/// `max_tokens` defaulting to the rest of the context, chat-shaped `logprobs`, streamed deltas.
extension ModelServer {
    static let unsupportedChatFields = [
        "tools": "this server does not call tools", "tool_choice": "this server does not call tools",
        "functions": "this server does not call functions", "function_call": "this server does not call functions",
        "audio": "this server generates text only", "prediction": "predicted outputs are not supported",
    ]

    func chatCompletions(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        try fields.reject(Self.unsupportedChatFields)
        if let format = try fields.object("response_format"), try format.string("type") != "text" {
            throw APIError.badRequest("'response_format' other than {\"type\": \"text\"} is not supported", param: "response_format")
        }
        var settings = try GenerationFields(fields, vocabularySize: model.configuration.vocabularySize, maxChoices: configuration.parallel)
        settings.stopSequences += chatTemplate.stopSequences
        let wantsLogprobs = try fields.bool("logprobs") ?? false
        let topLogprobs = try fields.integer("top_logprobs", in: 0...20)
        if topLogprobs != nil && !wantsLogprobs {
            throw APIError.badRequest("'top_logprobs' needs 'logprobs': true", param: "top_logprobs")
        }
        let messages = try chatMessages(fields)
        let prompt = try encode(chatTemplate.render(messages), field: "messages")
        guard !prompt.isEmpty, prompt.count < contextLength else {
            throw APIError.badRequest(
                "the rendered messages take \(prompt.count) tokens; this model's context is \(contextLength)", param: "messages",
                code: "context_length_exceeded")
        }
        let room = contextLength - prompt.count
        let asked = try fields.integer("max_completion_tokens", in: 1...contextLength) ?? fields.integer("max_tokens", in: 1...contextLength)
        if let asked, asked > room {
            throw APIError.badRequest(
                "this model's context is \(contextLength) tokens; the messages take \(prompt.count) and max_tokens asks for \(asked) more",
                param: "max_tokens", code: "context_length_exceeded")
        }
        var scheduled = settings.request(prompt: prompt, maxTokens: asked ?? room, timeout: configuration.timeout)
        if wantsLogprobs { scheduled.logprobs = topLogprobs ?? 0 }
        let streams = try submit([scheduled])
        let shape = ChatShape(
            id: "chatcmpl-\(UUID().uuidString.lowercased())", created: Int(Date().timeIntervalSince1970), model: configuration.alias,
            promptTokens: prompt.count, choices: settings.choices, logprobs: wantsLogprobs)
        let tokenizer = tokenizer
        if settings.stream {
            let includeUsage = settings.includeUsage
            return ServerEvents.response(request: request) { write in
                var completionTokens = 0
                for c in 0..<shape.choices { try await write(shape.chunk(c, delta: ["role": "assistant", "content": ""])) }
                for try await (_, event) in ServerEvents.merge(streams, metrics: self.metrics) {
                    switch event {
                    case .promptScored: break
                    case .token(let c, let token, let text, let logprob):
                        let logprobs = logprob.map { shape.logprobs([(token, $0)], tokenizer: tokenizer) } ?? .null
                        try await write(shape.chunk(c, delta: ["content": .string(text)], logprobs: logprobs))
                    case .finished(let c, let text, let reason, let count):
                        completionTokens += count
                        if !text.isEmpty { try await write(shape.chunk(c, delta: ["content": .string(text)])) }
                        try await write(shape.chunk(c, delta: [:], finishReason: ChoiceResult.reason(reason)))
                    }
                }
                if includeUsage {
                    try await write(shape.object("chat.completion.chunk", choices: [], usage: shape.usage(completion: completionTokens)))
                }
            }
        }
        let results = try await request.body.consumeWithCancellationOnInboundClose { _ in
            try await self.collect(streams, choices: settings.choices)
        }
        return Self.json(shape.response(results[0].choices, tokenizer: tokenizer), closing: true)
    }

    /// `messages`: objects with a `role` (system, developer, user, assistant) and `content` (a string,
    /// or an array of text parts).
    func chatMessages(_ fields: JSONFields) throws -> [ChatMessage] {
        guard case .array(let items) = fields.values["messages"] ?? .null, !items.isEmpty else {
            throw fields.wrongType("messages", "a non-empty array of messages")
        }
        return try items.enumerated().map { index, item in
            guard case .object(let object) = item else {
                throw APIError.badRequest("'messages[\(index)]' must be an object, not \(item.typeName)", param: "messages")
            }
            let message = JSONFields(object, path: "messages[\(index)].")
            guard let role = try message.string("role") else { throw message.wrongType("role", "a string") }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw message.outOfRange("role", "must be system, developer, user or assistant, not '\(role)'")
            }
            switch object["content"] ?? .null {
            case .string(let text): return ChatMessage(role: role, content: text)
            case .array(let parts):
                let texts = try parts.map { part -> String in
                    guard case .object(let fields) = part, fields["type"] == "text", case .string(let text) = fields["text"] ?? .null else {
                        throw message.outOfRange("content", "parts must be {\"type\": \"text\", \"text\": …}: this server reads text only")
                    }
                    return text
                }
                return ChatMessage(role: role, content: texts.joined())
            default: throw message.wrongType("content", "a string or an array of text parts")
            }
        }
    }
}

/// The fixed parts of one chat response and how its objects are built.
struct ChatShape: Sendable {
    let id: String
    let created: Int
    let model: String
    let promptTokens: Int
    let choices: Int
    let logprobs: Bool

    func object(_ kind: String, choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": .string(kind), "created": .int(created), "model": .string(model), "choices": .array(choices),
        ]
        if let usage { object["usage"] = usage }
        return .object(object)
    }

    func usage(completion: Int) -> JSONValue {
        ["prompt_tokens": .int(promptTokens), "completion_tokens": .int(completion), "total_tokens": .int(promptTokens + completion)]
    }

    func chunk(_ index: Int, delta: JSONValue, logprobs: JSONValue = .null, finishReason: JSONValue = .null) -> JSONValue {
        object(
            "chat.completion.chunk",
            choices: [["index": .int(index), "delta": delta, "logprobs": logprobs, "finish_reason": finishReason]])
    }

    /// Chat-shaped log-probabilities: `{"content": [{token, logprob, bytes, top_logprobs}]}`.
    func logprobs(_ entries: [(Int, TokenLogprob)], tokenizer: any Tokenizer) -> JSONValue {
        func entry(_ token: Int, _ logprob: Float) -> [String: JSONValue] {
            let bytes = tokenizer.decodeBytes([token])
            return ["token": .string(String(decoding: bytes, as: UTF8.self)), "logprob": .float(logprob), "bytes": .array(bytes.map { .int(Int($0)) })]
        }
        let content: [JSONValue] = entries.map { token, logprob in
            var object = entry(token, logprob.logprob)
            object["top_logprobs"] = .array(logprob.alternatives.map { .object(entry($0.token, $0.logprob)) })
            return .object(object)
        }
        return ["content": .array(content)]
    }

    func response(_ results: [ChoiceResult], tokenizer: any Tokenizer) -> JSONValue {
        let choices: [JSONValue] = results.enumerated().map { index, result in
            let logprobs = self.logprobs ? logprobs(zip(result.tokens, result.logprobs).map { ($0, $1) }, tokenizer: tokenizer) : .null
            return [
                "index": .int(index), "message": ["role": "assistant", "content": .string(result.text)], "logprobs": logprobs,
                "finish_reason": ChoiceResult.reason(result.finishReason),
            ]
        }
        return object("chat.completion", choices: choices, usage: usage(completion: results.reduce(0) { $0 + $1.completionTokens }))
    }
}
