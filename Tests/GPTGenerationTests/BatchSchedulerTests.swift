import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer
import Testing

/// Continuous batching: the same request gives the same text alone or among others, choices share a
/// prefill, prompts are scored, and requests leave when their consumer does or the queue is full.
@Suite struct BatchSchedulerTests {
    static let tokenizer = CharacterTokenizer(training: "abcdefghijklmnopqrstuvwxyz .,\n")

    static func model(contextLength: Int = 64) throws -> GPT {
        var random = RandomGenerator(seed: 21)
        return try GPT(
            configuration: GPTConfiguration(
                vocabularySize: tokenizer.vocabularySize, contextLength: contextLength, embeddingSize: 32, layerCount: 2,
                headCount: 4),
            generator: &random)
    }

    /// A model big enough that 1,000 tokens take seconds — far longer than a test needs to act
    /// while a request still runs (noticing a consumer that left, filling the queue).
    static func slowModel() throws -> GPT {
        var random = RandomGenerator(seed: 4)
        return try GPT(
            configuration: GPTConfiguration(
                vocabularySize: tokenizer.vocabularySize, contextLength: 1024, embeddingSize: 256, layerCount: 6, headCount: 4),
            generator: &random)
    }

    static func scheduler(_ model: GPT, parallel: Int = 16, maxQueue: Int = 64, prefillChunk: Int = 5) throws -> BatchScheduler {
        try BatchScheduler(
            model: model, tokenizer: tokenizer, parallel: parallel, maxQueue: maxQueue, prefillChunk: prefillChunk,
            parallelism: Parallelism(threads: 2))
    }

    static func request(_ prompt: String, seed: UInt64, maxTokens: Int = 20) throws -> CompletionRequest {
        var request = CompletionRequest(prompt: try tokenizer.encode(prompt))
        request.seed = seed
        request.maxTokens = maxTokens
        request.sampling.temperature = 0.9
        return request
    }

    struct Outcome: Equatable {
        var tokens: [[Int]]
        var texts: [String]
        var reasons: [FinishReason?]
        var prompt: [PromptToken] = []

        static func == (a: Outcome, b: Outcome) -> Bool { a.tokens == b.tokens && a.texts == b.texts && a.reasons == b.reasons }
    }

    static func collect(_ stream: AsyncThrowingStream<CompletionEvent, Error>, choices: Int = 1) async throws -> Outcome {
        var outcome = Outcome(
            tokens: Array(repeating: [], count: choices), texts: Array(repeating: "", count: choices),
            reasons: Array(repeating: nil, count: choices))
        for try await event in stream {
            switch event {
            case .promptScored(let tokens): outcome.prompt = tokens
            case .token(let choice, let token, let text, _):
                outcome.tokens[choice].append(token)
                outcome.texts[choice] += text
            case .finished(let choice, let text, let reason, _):
                outcome.texts[choice] += text
                outcome.reasons[choice] = reason
            }
        }
        return outcome
    }

    @Test func aRequestGivesTheSameTextAloneOrAmongFifteenOthers() async throws {
        let model = try Self.model()
        let scheduler = try Self.scheduler(model)
        let probe = try Self.request("the cat sat on", seed: 7)
        let alone = try await Self.collect(try scheduler.submit(probe))
        #expect(alone.tokens[0].count == 20)
        let together = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
            for other in 0..<15 {
                let request = try Self.request(String(repeating: "ab, ", count: other % 5 + 1), seed: UInt64(100 + other), maxTokens: 10 + other)
                let stream = try scheduler.submit(request)
                group.addTask { (other, try await Self.collect(stream)) }
            }
            let stream = try scheduler.submit(probe)
            group.addTask { (-1, try await Self.collect(stream)) }
            var results: [Int: Outcome] = [:]
            for try await (index, outcome) in group { results[index] = outcome }
            return results
        }
        #expect(together[-1] == alone)
        #expect(scheduler.statistics.completedRequests == 17)
        await scheduler.shutdown(gracePeriod: 1)
    }

    @Test func choicesShareOnePrefillAndEachSamplesWithItsOwnSeed() async throws {
        let model = try Self.model()
        let scheduler = try Self.scheduler(model, parallel: 4)
        var request = try Self.request("once upon a time", seed: 40)
        request.choices = 3
        let many = try await Self.collect(try scheduler.submit(request), choices: 3)
        for choice in 0..<3 {
            let single = try await Self.collect(try scheduler.submit(try Self.request("once upon a time", seed: 40 + UInt64(choice))))
            #expect(many.tokens[choice] == single.tokens[0], "choice \(choice)")
            #expect(many.texts[choice] == single.texts[0])
        }
        #expect(Set(many.tokens).count > 1)
        await scheduler.shutdown(gracePeriod: 1)
    }

    @Test func promptScoresMatchTheModelsLikelihood() async throws {
        let model = try Self.model()
        let scheduler = try Self.scheduler(model, prefillChunk: 4)
        var request = try Self.request("the quick brown fox", seed: 1, maxTokens: 0)
        request.promptLogprobs = true
        request.logprobs = 2
        let outcome = try await Self.collect(try scheduler.submit(request))
        #expect(outcome.tokens[0].isEmpty && outcome.reasons[0] == .length)
        let prompt = request.prompt
        #expect(outcome.prompt.map(\.token) == prompt)
        #expect(outcome.prompt[0].logprob == nil)
        let session = InferenceSession(model: model, parallelism: Parallelism(threads: 1))
        let losses = try session.negativeLogLikelihoods(
            tokens: prompt.dropLast().map(Int32.init), targets: prompt.dropFirst().map(Int32.init), batch: 1,
            length: prompt.count - 1)
        for (index, scored) in outcome.prompt.dropFirst().enumerated() {
            #expect(abs(scored.logprob!.logprob + losses[index]) < 1e-4)
            #expect(scored.logprob!.alternatives.count == 2)
        }
        await scheduler.shutdown(gracePeriod: 1)
    }

    @Test func stopSequencesEndAChoiceAndAreNotShown() async throws {
        let model = try Self.model()
        let scheduler = try Self.scheduler(model)
        let free = try await Self.collect(try scheduler.submit(try Self.request("abc", seed: 3, maxTokens: 30)))
        let text = free.texts[0]
        guard text.count >= 6 else { return }
        let stop = String(text.dropFirst(3).prefix(2))
        var request = try Self.request("abc", seed: 3, maxTokens: 30)
        request.stopSequences = [stop]
        let stopped = try await Self.collect(try scheduler.submit(request))
        #expect(stopped.reasons[0] == .stop)
        #expect(!stopped.texts[0].contains(stop))
        #expect(text.hasPrefix(stopped.texts[0] + stop))
        await scheduler.shutdown(gracePeriod: 1)
    }

    @Test func aConsumerThatStopsListeningFreesItsSlot() async throws {
        let model = try Self.slowModel()
        let scheduler = try Self.scheduler(model, parallel: 1)
        var request = try Self.request("a", seed: 1, maxTokens: 1000)
        request.ignoreEndOfText = true
        var seen = 0
        for try await event in try scheduler.submit(request) {
            if case .token = event { seen += 1 }
            if seen == 1 { break }
        }
        // The slot comes back within a step or two: a new request runs to its end.
        let next = try await Self.collect(try scheduler.submit(try Self.request("b", seed: 2, maxTokens: 5)))
        #expect(next.reasons[0] != nil)
        let stats = scheduler.statistics
        #expect(stats.cancelledRequests == 1)
        #expect(stats.completedRequests == 1)
        #expect(stats.generatedTokens < 1000)
        await scheduler.shutdown(gracePeriod: 1)
    }

    @Test func aFullQueueRefusesAndShutdownEndsWhatIsLeft() async throws {
        let model = try Self.slowModel()
        let scheduler = try Self.scheduler(model, parallel: 1, maxQueue: 1)
        var long = try Self.request("a", seed: 1, maxTokens: 500)
        long.ignoreEndOfText = true
        let first = try scheduler.submit(long)
        let deadline = Date().addingTimeInterval(30)
        while scheduler.statistics.running == 0 && Date() < deadline { try await Task.sleep(nanoseconds: 1_000_000) }
        let second = try scheduler.submit(long)
        #expect(throws: SchedulerError.queueFull(waiting: 1)) { try scheduler.submit(long) }
        await scheduler.shutdown(gracePeriod: 0)
        #expect(throws: SchedulerError.shuttingDown) { try scheduler.submit(long) }
        for stream in [first, second] {
            await #expect(throws: SchedulerError.shuttingDown) { _ = try await Self.collect(stream) }
        }
    }

    @Test func refusesRequestsThatCanNeverRun() async throws {
        let model = try Self.model(contextLength: 8)
        let scheduler = try Self.scheduler(model, parallel: 2)
        #expect(throws: SchedulerError.self) { try scheduler.submit(CompletionRequest(prompt: [])) }
        #expect(throws: SchedulerError.self) { try scheduler.submit(CompletionRequest(prompt: Array(repeating: 1, count: 9))) }
        #expect(throws: SchedulerError.self) { try scheduler.submit(CompletionRequest(prompt: [999])) }
        var many = CompletionRequest(prompt: [1])
        many.choices = 3
        #expect(throws: SchedulerError.self) { try scheduler.submit(many) }
        await scheduler.shutdown(gracePeriod: 0)
    }

    /// Consumers that give up while their requests wait in the queue or run, many at once, never wedge
    /// the scheduler (a stream's end must never be signalled while the scheduler holds its lock: the
    /// termination handler takes it too — the deadlock a load test found).
    @Test func manyConsumersGivingUpAtOnceNeverWedgeIt() async throws {
        let scheduler = try Self.scheduler(try Self.model(), parallel: 2, maxQueue: 64)
        for round in 0..<20 {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    let request = try! Self.request("abc", seed: UInt64(index), maxTokens: 40)
                    guard let stream = try? scheduler.submit(request) else { continue }
                    let consumer = Task { for try await _ in stream {} }
                    group.addTask {
                        try? await Task.sleep(nanoseconds: UInt64((index * 7 + round) % 10) * 200_000)
                        consumer.cancel()
                    }
                }
            }
            let deadline = Date().addingTimeInterval(20)
            while scheduler.statistics.queued + scheduler.statistics.running > 0 && Date() < deadline {
                try await Task.sleep(nanoseconds: 2_000_000)
            }
            #expect(scheduler.statistics.queued == 0 && scheduler.statistics.running == 0, "round \(round): the scheduler is wedged")
        }
        let outcome = try await Self.collect(try scheduler.submit(try Self.request("abc", seed: 1, maxTokens: 5)))
        #expect(outcome.tokens[0].count == 5)
        await scheduler.shutdown(gracePeriod: 0)
    }
}
