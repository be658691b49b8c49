import GPTModel
import GPTTensor
import GPTTokenizer
import Synchronization

/// Set from any thread (a consumer that stops listening), read by the scheduler's loop.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// One choice of a request as it is decoded: its own sampler, generator, history and text.
struct ChoiceState {
    var sampler: Sampler
    var random: RandomGenerator
    var history: [Int]
    var text: GeneratedText
    var generated = 0
    /// The token to feed at the next step (nil once finished).
    var next: Int?
    var isFinished = false
}

/// A request inside the scheduler: its caches (one per choice), how far its prompt has been
/// prefilled, and its choices. Owned by the scheduler's loop thread alone.
final class BatchJob {
    let request: CompletionRequest
    let continuation: AsyncThrowingStream<CompletionEvent, Error>.Continuation
    let cancellation: CancellationFlag
    let deadline: Double
    let submitted: Double
    var caches: [KVCache] = []
    /// Prompt tokens already through the model (in the first choice's cache).
    var prefilled = 0
    var promptScores: [PromptToken] = []
    var choices: [ChoiceState]
    /// When the first token was sampled (for time-to-first-token).
    var firstTokenTime: Double?

    init(
        request: CompletionRequest, tokenizer: any Tokenizer,
        continuation: AsyncThrowingStream<CompletionEvent, Error>.Continuation, cancellation: CancellationFlag
    ) {
        self.request = request
        self.continuation = continuation
        self.cancellation = cancellation
        submitted = monotonicSeconds()
        deadline = submitted + request.timeout
        choices = (0..<request.choices).map { choice in
            ChoiceState(
                sampler: Sampler(parameters: request.sampling), random: RandomGenerator(seed: request.seed &+ UInt64(choice)),
                history: request.prompt, text: GeneratedText(tokenizer: tokenizer, stopSequences: request.stopSequences))
        }
    }

    var isPrefilling: Bool { prefilled < request.prompt.count }
    var isDone: Bool { !isPrefilling && choices.allSatisfy(\.isFinished) }

    /// Scores the prompt positions a prefill chunk computed logits for: row k of `logits` (start + k)
    /// predicts prompt token start + k + 1.
    func scorePrompt(chunkStart start: Int, count: Int, logits: UnsafeBufferPointer<Float>, vocabularySize V: Int) {
        if start == 0 { promptScores.append(PromptToken(token: request.prompt[0], logprob: nil)) }
        let alternatives = request.logprobs ?? 0
        for k in 0..<count where start + k + 1 < request.prompt.count {
            let row = UnsafeBufferPointer(rebasing: logits[(k * V)..<((k + 1) * V)])
            let token = request.prompt[start + k + 1]
            promptScores.append(PromptToken(token: token, logprob: TextGenerator.logprob(of: token, in: row, alternatives: alternatives)))
        }
    }

    /// Samples choice `index`'s next token from `logits` (one row), emits it, and decides whether the
    /// choice goes on. Returns the number of tokens generated (0 or 1).
    func advance(choice index: Int, logits: UnsafeBufferPointer<Float>, tokenizer: any Tokenizer) -> Int {
        let request = request
        guard request.maxTokens > 0 else {
            finish(choice: index, reason: .length)
            return 0
        }
        let decodable = UnsafeBufferPointer(rebasing: logits[0..<min(logits.count, tokenizer.vocabularySize)])
        var choice = choices[index]
        let token = choice.sampler.sample(
            decodable, history: choice.history, step: choice.generated, steps: request.maxTokens, generator: &choice.random)
        if firstTokenTime == nil { firstTokenTime = monotonicSeconds() }
        let logprob = request.logprobs.map { TextGenerator.logprob(of: token, in: logits, alternatives: $0) }
        if token == tokenizer.endOfTextToken && !request.ignoreEndOfText {
            choices[index] = choice
            finish(choice: index, reason: .endOfText)
            return 0
        }
        choice.generated += 1
        choice.history.append(token)
        let (piece, stopped) = choice.text.append(token)
        choices[index] = choice
        continuation.yield(.token(choice: index, token: token, text: piece, logprob: logprob))
        if stopped {
            finish(choice: index, reason: .stop)
        } else if choice.generated == request.maxTokens || caches[index].length == caches[index].capacity {
            finish(choice: index, reason: .length)
        } else {
            choices[index].next = token
        }
        return 1
    }

    private func finish(choice index: Int, reason: FinishReason) {
        let remainder = choices[index].text.finish()
        choices[index].isFinished = true
        choices[index].next = nil
        continuation.yield(
            .finished(choice: index, text: remainder, reason: reason, completionTokens: choices[index].generated))
    }
}
