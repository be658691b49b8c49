import GPTGeneration
import GPTTokenizer

/// The fixed parts of one completions response (id, model, prompts, choices per prompt) and how
/// its objects are built, whole or as stream chunks.
struct CompletionShape: Sendable {
    let id: String
    let created: Int
    let model: String
    let prompts: [[Int]]
    let choices: Int
    let echo: Bool
    let logprobs: Bool

    func object(choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "object": "text_completion", "created": .int(created), "model": .string(model),
            "choices": .array(choices),
        ]
        if let usage { object["usage"] = usage }
        return .object(object)
    }

    static func choice(index: Int, text: String, logprobs: JSONValue, finishReason: JSONValue) -> JSONValue {
        ["index": .int(index), "text": .string(text), "logprobs": logprobs, "finish_reason": finishReason]
    }

    static func usage(prompt: Int, completion: Int) -> JSONValue {
        ["prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion)]
    }

    var promptTokenCount: Int { prompts.reduce(0) { $0 + $1.count } }

    /// The prompt's tokens in legacy logprobs (the first without a log-probability).
    func promptLogprobs(_ scored: [PromptToken], tokenizer: any Tokenizer) -> LegacyLogprobs {
        var logprobs = LegacyLogprobs()
        for token in scored { logprobs.append(token: token.token, logprob: token.logprob, tokenizer: tokenizer) }
        return logprobs
    }

    /// The whole response: choice p·n + c for choice c of prompt p.
    func response(_ results: [CollectedPrompt], tokenizer: any Tokenizer) -> JSONValue {
        var choices: [JSONValue] = []
        var completionTokens = 0
        for (p, result) in results.enumerated() {
            let promptText = echo ? tokenizer.decode(prompts[p]) : ""
            for (c, choice) in result.choices.enumerated() {
                completionTokens += choice.completionTokens
                var logprobs = JSONValue.null
                if self.logprobs {
                    var legacy = echo ? promptLogprobs(result.promptTokens, tokenizer: tokenizer) : LegacyLogprobs()
                    for entry in choice.logprobs { legacy.append(token: entry.token, logprob: entry, tokenizer: tokenizer) }
                    logprobs = legacy.json
                }
                choices.append(
                    Self.choice(
                        index: p * self.choices + c, text: promptText + choice.text, logprobs: logprobs,
                        finishReason: ChoiceResult.reason(choice.finishReason)))
            }
        }
        return object(choices: choices, usage: Self.usage(prompt: promptTokenCount, completion: completionTokens))
    }
}

/// A streamed completions response: one chunk per token, the prompt first when echoed, the finish
/// reason on each choice's last chunk.
struct CompletionStream {
    let shape: CompletionShape
    let tokenizer: any Tokenizer
    /// Characters sent per choice (text offsets of the next token).
    private var offsets: [Int]
    private var completionTokens = 0

    init(shape: CompletionShape, tokenizer: any Tokenizer) {
        self.shape = shape
        self.tokenizer = tokenizer
        offsets = Array(repeating: 0, count: shape.prompts.count * shape.choices)
    }

    var usage: JSONValue { CompletionShape.usage(prompt: shape.promptTokenCount, completion: completionTokens) }

    /// Echoed prompts without log-probabilities go out at once.
    mutating func start() -> [JSONValue] {
        guard shape.echo && !shape.logprobs else { return [] }
        var chunks: [JSONValue] = []
        for (p, prompt) in shape.prompts.enumerated() {
            let text = tokenizer.decode(prompt)
            for c in 0..<shape.choices {
                offsets[p * shape.choices + c] = text.count
                chunks.append(chunk(p * shape.choices + c, text: text))
            }
        }
        return chunks
    }

    mutating func chunks(prompt p: Int, event: CompletionEvent) -> [JSONValue] {
        switch event {
        case .promptScored(let scored):
            guard shape.echo else { return [] }
            let legacy = shape.promptLogprobs(scored, tokenizer: tokenizer)
            let text = tokenizer.decode(shape.prompts[p])
            return (0..<shape.choices).map { c in
                offsets[p * shape.choices + c] = legacy.offset
                return chunk(p * shape.choices + c, text: text, logprobs: legacy.json)
            }
        case .token(let c, let token, let text, let logprob):
            let index = p * shape.choices + c
            var logprobs = JSONValue.null
            if let logprob {
                var legacy = LegacyLogprobs(offset: offsets[index])
                legacy.append(token: token, logprob: logprob, tokenizer: tokenizer)
                logprobs = legacy.json
            }
            offsets[index] += text.count
            return [chunk(index, text: text, logprobs: logprobs)]
        case .finished(let c, let text, let reason, let count):
            completionTokens += count
            return [chunk(p * shape.choices + c, text: text, finishReason: ChoiceResult.reason(reason))]
        }
    }

    private func chunk(_ index: Int, text: String, logprobs: JSONValue = .null, finishReason: JSONValue = .null) -> JSONValue {
        shape.object(choices: [CompletionShape.choice(index: index, text: text, logprobs: logprobs, finishReason: finishReason)])
    }
}
