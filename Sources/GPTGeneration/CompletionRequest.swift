import GPTTensor

/// One request to the continuous-batching scheduler: a tokenized prompt and how to continue it,
/// `choices` times (each choice samples with its own generator, seeded `seed + choice`).
public struct CompletionRequest: Sendable {
    public var prompt: [Int]
    /// Tokens to generate per choice; 0 only scores the prompt (with `promptLogprobs`).
    public var maxTokens = 16
    public var sampling = SamplingParameters()
    public var stopSequences: [String] = []
    /// The chosen token's log-probability and this many alternatives per generated token (nil: none).
    public var logprobs: Int?
    /// Also score every prompt token given the ones before it (OpenAI's `echo` with `logprobs`).
    public var promptLogprobs = false
    public var ignoreEndOfText = false
    public var seed: UInt64 = 0
    public var choices = 1
    /// Seconds from submission after which the request ends with `SchedulerError.timedOut`.
    public var timeout: Double = 600

    public init(prompt: [Int]) {
        self.prompt = prompt
    }
}

/// What a request's stream delivers, in order: prompt scores (when asked), then tokens of the
/// choices as they are decoded (interleaved), each choice ending with `finished`.
public enum CompletionEvent: Sendable {
    /// The prompt's tokens with their log-probabilities (nil for the first, which has no context).
    case promptScored([PromptToken])
    /// A new token of `choice` and the text it completes (never half a UTF-8 character; held back
    /// while it could still begin a stop sequence, so `text` may be empty).
    case token(choice: Int, token: Int, text: String, logprob: TokenLogprob?)
    /// `choice` ended: any text still held back, why it ended and how many tokens it generated.
    case finished(choice: Int, text: String, reason: FinishReason, completionTokens: Int)
}

/// A prompt token and its log-probability given the tokens before it.
public struct PromptToken: Sendable {
    public let token: Int
    public let logprob: TokenLogprob?
}

/// Why the scheduler refused or ended a request.
public enum SchedulerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `maxQueue` requests are already waiting.
    case queueFull(waiting: Int)
    /// The server is shutting down.
    case shuttingDown
    /// The request ran past its timeout.
    case timedOut(seconds: Double)
    /// The request can never run (wrong sizes): the message says why.
    case invalid(String)
    /// The model failed (corrupt weights): the message says why.
    case failed(String)

    public var description: String {
        switch self {
        case .queueFull(let waiting): "the server is busy: \(waiting) requests are already waiting; retry shortly"
        case .shuttingDown: "the server is shutting down"
        case .timedOut(let seconds): "the request ran past the server's timeout of \(seconds) s"
        case .invalid(let message), .failed(let message): message
        }
    }
}

/// Counters and levels of a scheduler, read at any time.
public struct SchedulerStatistics: Sendable, Equatable {
    /// Requests waiting for slots, and sequences decoding.
    public var queued = 0
    public var running = 0
    public var promptTokens = 0
    public var generatedTokens = 0
    public var completedRequests = 0
    public var cancelledRequests = 0
    public var steps = 0

    public init() {}
}
