import GPTGeneration
import GPTTokenizer

/// One choice as it is collected: text, tokens with their log-probabilities, why it ended.
struct ChoiceResult {
    var text = ""
    var tokens: [Int] = []
    var logprobs: [TokenLogprob] = []
    var finishReason: FinishReason?
    var completionTokens = 0

    mutating func add(_ event: CompletionEvent) {
        switch event {
        case .promptScored: break
        case .token(_, let token, let text, let logprob):
            self.text += text
            tokens.append(token)
            if let logprob { logprobs.append(logprob) }
        case .finished(_, let text, let reason, let count):
            self.text += text
            finishReason = reason
            completionTokens = count
        }
    }

    /// OpenAI's name for why a choice ended.
    static func reason(_ reason: FinishReason?) -> JSONValue {
        switch reason {
        case nil: .null
        case .length?, .context?: "length"
        case .stop?, .endOfText?: "stop"
        }
    }
}

/// The completions endpoint's legacy `logprobs` object: `tokens`, `token_logprobs`, `top_logprobs`
/// and `text_offset`, in parallel arrays (the first prompt token's log-probability is null).
struct LegacyLogprobs {
    var tokens: [JSONValue] = []
    var tokenLogprobs: [JSONValue] = []
    var topLogprobs: [JSONValue] = []
    var textOffset: [JSONValue] = []
    /// Characters of text before the next token.
    var offset: Int

    init(offset: Int = 0) {
        self.offset = offset
    }

    mutating func append(token: Int, logprob: TokenLogprob?, tokenizer: any Tokenizer) {
        let piece = tokenizer.decode([token])
        tokens.append(.string(piece))
        tokenLogprobs.append(logprob.map { .float($0.logprob) } ?? .null)
        if let logprob {
            var top: [String: JSONValue] = [:]
            for alternative in logprob.alternatives {
                let key = tokenizer.decode([alternative.token])
                if top[key] == nil { top[key] = .float(alternative.logprob) }
            }
            topLogprobs.append(.object(top))
        } else {
            topLogprobs.append(.null)
        }
        textOffset.append(.int(offset))
        offset += piece.count
    }

    var json: JSONValue {
        ["tokens": .array(tokens), "token_logprobs": .array(tokenLogprobs), "top_logprobs": .array(topLogprobs),
         "text_offset": .array(textOffset)]
    }
}
