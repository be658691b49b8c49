import Foundation
import GPTModel
import GPTTensor
import GPTTokenizer

/// Continuous batching: one loop thread owns the model's compute and runs steps in which every
/// running sequence decodes one token and waiting prompts are prefilled in chunks, all in one
/// batched pass (the weights read once per step for all). Requests join and leave at token
/// granularity; each has `parallel` slots' worth of caches to claim (one per choice, allocated at
/// start), and waits in a bounded queue for them. The pass is batch-invariant, and every choice
/// samples with its own seeded generator, so a request returns the same tokens alone or among others.
/// The loop runs until `shutdown`, which also frees the caches.
public final class BatchScheduler: @unchecked Sendable {
    public let model: GPT
    public let tokenizer: any Tokenizer
    /// Sequences decoded together (slots), and requests allowed to wait for them.
    public let parallel: Int
    public let maxQueue: Int
    /// Prompt tokens prefilled per step at most while other sequences decode, so running streams keep
    /// flowing during a long prompt (4 × as many when none is decoding).
    public let prefillChunk: Int
    private let session: BatchedInferenceSession
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var waiting: [BatchJob] = []
    private var accepting = true
    private var stopping = false
    private var counters = SchedulerStatistics()
    private var loopFinished = false
    // Owned by the loop thread:
    private var freeCaches: [KVCache]
    private var running: [BatchJob] = []

    /// Bytes of key/value caches allocated for the slots.
    public let cacheBytes: Int

    public init(
        model: GPT, tokenizer: any Tokenizer, parallel: Int = 8, maxQueue: Int = 64, prefillChunk: Int = 256,
        parallelism: Parallelism, level: KernelLevel = .best
    ) throws {
        let check = Validator(owner: "BatchScheduler")
        try check.require(parallel >= 1 && parallel <= 256, "parallel", "must be between 1 and 256", parallel)
        try check.require(maxQueue >= 0, "maxQueue", "must be 0 or more", maxQueue)
        try check.require(prefillChunk >= 1, "prefillChunk", "must be at least 1", prefillChunk)
        self.model = model
        self.tokenizer = tokenizer
        self.parallel = parallel
        self.maxQueue = maxQueue
        self.prefillChunk = prefillChunk
        session = BatchedInferenceSession(model: model, parallelism: parallelism, level: level)
        freeCaches = (0..<parallel).map { _ in KVCache(configuration: model.configuration) }
        cacheBytes = freeCaches.reduce(0) { $0 + $1.bytes }
        // The loop holds the scheduler until `shutdown` stops it.
        let thread = Thread { self.loop() }
        thread.name = "gpt-scheduler"
        thread.start()
    }

    /// Queues a request; its events arrive on the returned stream, which ends when every choice has
    /// finished (or throws a `SchedulerError`). Stop listening to cancel: the request then leaves
    /// within one step and frees its slots. Throws `SchedulerError` when the queue is full, the
    /// scheduler is shutting down or the request can never run.
    public func submit(_ request: CompletionRequest) throws -> AsyncThrowingStream<CompletionEvent, Error> {
        try validate(request)
        let cancellation = CancellationFlag()
        let (stream, continuation) = AsyncThrowingStream<CompletionEvent, Error>.makeStream()
        let job = BatchJob(request: request, tokenizer: tokenizer, continuation: continuation, cancellation: cancellation)
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw SchedulerError.shuttingDown }
        guard waiting.count < maxQueue || (waiting.isEmpty && counters.running + request.choices <= parallel) else {
            throw SchedulerError.queueFull(waiting: waiting.count)
        }
        continuation.onTermination = { [weak self] _ in
            cancellation.set()
            self?.wake()
        }
        waiting.append(job)
        counters.queued = waiting.count
        condition.signal()
        return stream
    }

    public var statistics: SchedulerStatistics {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// Stops accepting requests, lets those in flight finish for up to `gracePeriod` seconds, then
    /// ends the rest with `SchedulerError.shuttingDown` and stops the loop.
    public func shutdown(gracePeriod: Double) async {
        withLock { accepting = false }
        let deadline = monotonicSeconds() + gracePeriod
        while monotonicSeconds() < deadline && withLock({ counters.queued > 0 || counters.running > 0 }) {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        withLock {
            stopping = true
            condition.signal()
        }
        while !withLock({ loopFinished }) { try? await Task.sleep(nanoseconds: 5_000_000) }
    }

    private func withLock<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    private func wake() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    private func validate(_ request: CompletionRequest) throws {
        let (V, context) = (model.configuration.vocabularySize, model.configuration.contextLength)
        func invalid(_ message: String) -> SchedulerError { .invalid(message) }
        guard !request.prompt.isEmpty else { throw invalid("the prompt has no tokens") }
        guard request.prompt.count <= context else {
            throw invalid("the prompt has \(request.prompt.count) tokens; this model's context holds \(context)")
        }
        if let bad = request.prompt.first(where: { $0 < 0 || $0 >= V }) {
            throw invalid("prompt token id \(bad) is outside the model's vocabulary of \(V) (ids 0…\(V - 1))")
        }
        guard request.choices >= 1 && request.choices <= parallel else {
            throw invalid("\(request.choices) choices need as many slots; this server decodes at most \(parallel) sequences")
        }
        guard request.maxTokens >= 0 else { throw invalid("maxTokens must be 0 or more") }
        guard request.timeout > 0 else { throw invalid("the timeout must be positive") }
        do {
            try request.sampling.validate(vocabularySize: V)
        } catch {
            throw invalid("\(error)")
        }
    }

    // MARK: - The loop

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && running.isEmpty && !stopping { condition.wait() }
            if stopping {
                let left = waiting
                waiting.removeAll()
                counters.queued = 0
                condition.unlock()
                for job in left + running { end(job, error: SchedulerError.shuttingDown) }
                running.removeAll()
                condition.lock()
                counters.running = 0
                loopFinished = true
                condition.unlock()
                return
            }
            // Waiting requests join in order while slots are free (a request with several choices
            // waits for all of its slots rather than being overtaken). Streams end only after the lock
            // is released: ending one can run its termination handler, which takes the lock (wake).
            let cancelled = waiting.filter(\.cancellation.isSet)
            waiting.removeAll(where: \.cancellation.isSet)
            counters.cancelledRequests += cancelled.count
            while let job = waiting.first, freeCaches.count >= job.request.choices {
                waiting.removeFirst()
                job.caches = (0..<job.request.choices).map { _ in freeCaches.removeLast() }
                for cache in job.caches { cache.reset() }
                running.append(job)
            }
            counters.queued = waiting.count
            counters.running = runningChoices
            condition.unlock()
            for job in cancelled { job.continuation.finish(throwing: CancellationError()) }
            retireCancelledAndLate()
            if !running.isEmpty { step() }
        }
    }

    /// Jobs whose consumer went away or whose time ran out leave before the next step.
    private func retireCancelledAndLate() {
        let now = monotonicSeconds()
        running.removeAll { job in
            if job.cancellation.isSet {
                release(job)
                withLock { counters.cancelledRequests += 1 }
                job.continuation.finish(throwing: CancellationError())
                return true
            }
            if now > job.deadline {
                end(job, error: SchedulerError.timedOut(seconds: job.request.timeout))
                return true
            }
            return false
        }
        let running = runningChoices
        withLock { counters.running = running }
    }

    /// One batched pass: a token for every running choice, then prompt chunks up to `prefillChunk`.
    private func step() {
        var steps: [SequenceStep] = []
        var owners: [(job: BatchJob, choice: Int?, start: Int)] = []  // choice nil: a prefill chunk
        for job in running where !job.isPrefilling {
            for (index, choice) in job.choices.enumerated() {
                guard let next = choice.next else { continue }
                steps.append(SequenceStep(cache: job.caches[index], tokens: [Int32(next)]))
                owners.append((job, index, 0))
            }
        }
        // Chunks keep running streams flowing; with none decoding, there is nothing to keep flowing
        // and waiting prompts go through in bigger steps (their first tokens come sooner).
        var budget = steps.isEmpty ? 4 * prefillChunk : prefillChunk
        for job in running where job.isPrefilling && budget > 0 {
            let count = min(budget, job.request.prompt.count - job.prefilled)
            let tokens = job.request.prompt[job.prefilled..<(job.prefilled + count)].map(Int32.init)
            steps.append(SequenceStep(cache: job.caches[0], tokens: tokens, allLogits: job.request.promptLogprobs))
            owners.append((job, nil, job.prefilled))
            budget -= count
        }
        guard !steps.isEmpty else { return }
        let logits: [UnsafeBufferPointer<Float>]
        do {
            logits = try session.forward(steps)
        } catch {
            // A failing pass (corrupt weights) ends every request that was in it.
            let failed = running.filter { job in owners.contains { $0.job === job } }
            running.removeAll { job in failed.contains { $0 === job } }
            for job in failed { end(job, error: SchedulerError.failed("\(error)")) }
            return
        }
        let V = model.configuration.vocabularySize
        var prompt = 0
        var generated = 0
        for (index, owner) in owners.enumerated() {
            let (job, rows) = (owner.job, logits[index])
            if let choice = owner.choice {
                generated += job.advance(choice: choice, logits: rows, tokenizer: tokenizer)
                continue
            }
            let count = steps[index].tokens.count
            prompt += count
            if job.request.promptLogprobs {
                job.scorePrompt(chunkStart: owner.start, count: count, logits: rows, vocabularySize: V)
            }
            job.prefilled += count
            guard !job.isPrefilling else { continue }
            // The prompt is in: the other choices copy its cache, then every choice samples its first token.
            for cache in job.caches.dropFirst() { cache.copy(from: job.caches[0]) }
            if job.request.promptLogprobs { job.continuation.yield(.promptScored(job.promptScores)) }
            let last = UnsafeBufferPointer(rebasing: rows[(rows.count - V)...])
            for choice in job.choices.indices { generated += job.advance(choice: choice, logits: last, tokenizer: tokenizer) }
        }
        let done = running.filter(\.isDone)
        running.removeAll(where: \.isDone)
        for job in done { release(job) }
        withLock {
            counters.steps += 1
            counters.promptTokens += prompt
            counters.generatedTokens += generated
            counters.completedRequests += done.count
            counters.running = runningChoices
        }
        // Streams end after the counters count them.
        for job in done { job.continuation.finish() }
    }

    /// Choices still decoding (what `statistics.running` reports).
    private var runningChoices: Int { running.reduce(0) { $0 + $1.choices.filter { !$0.isFinished }.count } }

    private func release(_ job: BatchJob) {
        freeCaches += job.caches
        job.caches = []
    }

    private func end(_ job: BatchJob, error: Error) {
        release(job)
        job.continuation.finish(throwing: error)
    }
}
