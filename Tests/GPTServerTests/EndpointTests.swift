import Foundation
import GPTServer
import Testing

/// Every endpoint's happy path over real HTTP: shapes as OpenAI's, streams equal to whole responses.
@Suite struct EndpointTests {
    @Test func healthModelsTokenizeAndDetokenize() async throws {
        try await ServerHarness.with { harness in
            let health = try await harness.send(.GET, "/health")
            #expect(health.status == 200 && health.json["status"] as? String == "ok")
            let models = try await harness.send(.GET, "/v1/models")
            let data = models.json["data"] as? [[String: Any]] ?? []
            #expect(data.count == 1 && data.first?["id"] as? String == "tiny")
            let tokens = try await harness.post("/tokenize", ["content": "hello, world"])
            let ids = tokens.json["tokens"] as? [Int] ?? []
            #expect(ids == (try ServerHarness.tokenizer.encode("hello, world")))
            let text = try await harness.post("/detokenize", ["tokens": ids])
            #expect(text.json["content"] as? String == "hello, world")
        }
    }

    @Test func metricsCountRequestsTokensAndLatencies() async throws {
        try await ServerHarness.with { harness in
            _ = try await harness.post("/v1/completions", ["prompt": "abc", "max_tokens": 5, "n": 2])
            _ = try await harness.post("/v1/completions", ["prompt": "ab", "max_tokens": 4, "stream": true])
            _ = try await harness.post("/v1/completions", ["prompt": "a", "temperature": -1])
            let reply = try await harness.send(.GET, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(reply.body.contains("# TYPE gpt_time_to_first_token_seconds histogram"))
            let samples = try await harness.metrics()
            #expect(samples[#"gpt_requests_total{route="/v1/completions",status="200"}"#] == 2)
            #expect(samples[#"gpt_requests_total{route="/v1/completions",status="400"}"#] == 1)
            #expect(samples["gpt_prompt_tokens_total"] == 5)
            #expect(samples["gpt_generated_tokens_total"] == 14)
            #expect(samples["gpt_running_sequences"] == 0 && samples["gpt_queue_depth"] == 0)
            // One first token per request; every later token of a choice has a gap before it: 14 tokens,
            // less the 2 requests' first tokens and the first token of the second choice of the first.
            #expect(samples["gpt_time_to_first_token_seconds_count"] == 2)
            let gaps: Double = 14 - 2 - 1
            #expect(samples["gpt_token_latency_seconds_count"] == gaps)
            // The scrape before this one is counted too.
            #expect(samples[#"gpt_requests_total{route="/metrics",status="200"}"#] == 1)
        }
    }

    @Test func completionsStreamTheSameTextTheyReturnWhole() async throws {
        try await ServerHarness.with { harness in
            let request: [String: Any] = ["prompt": "the cat", "max_tokens": 24, "seed": 5, "temperature": 0.8, "n": 2]
            let whole = try await harness.post("/v1/completions", request)
            #expect(whole.status == 200)
            #expect(whole.json["object"] as? String == "text_completion")
            let usage = whole.json["usage"] as? [String: Int] ?? [:]
            #expect(usage["prompt_tokens"] == 7 && usage["completion_tokens"] == 48 && usage["total_tokens"] == 55)
            var streamed = request
            streamed["stream"] = true
            streamed["stream_options"] = ["include_usage": true]
            let stream = try await harness.post("/v1/completions", streamed)
            #expect(stream.headers["Content-Type"].first == "text/event-stream")
            #expect(stream.body.hasSuffix("data: [DONE]\n\n"))
            let texts = choiceTexts(whole)
            #expect(texts.count == 2 && texts[0] != texts[1])
            #expect(choiceTexts(stream) == texts)
            // The usage chunk comes last, with no choices.
            #expect((stream.events.last?["usage"] as? [String: Int])?["completion_tokens"] == 48)
            let reasons = stream.events.flatMap { ($0["choices"] as? [[String: Any]] ?? []).compactMap { $0["finish_reason"] as? String } }
            #expect(reasons == ["length", "length"])
        }
    }

    @Test func echoScoresThePromptForEvaluationHarnesses() async throws {
        try await ServerHarness.with { harness in
            let reply = try await harness.post(
                "/v1/completions", ["prompt": "a b c", "max_tokens": 0, "echo": true, "logprobs": 1, "temperature": 0])
            #expect(reply.status == 200)
            let choice = (reply.json["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["text"] as? String == "a b c")
            let logprobs = choice["logprobs"] as? [String: Any] ?? [:]
            let values = logprobs["token_logprobs"] as? [Any] ?? []
            #expect(values.count == 5)
            #expect(values.first is NSNull)
            #expect(values.dropFirst().allSatisfy { ($0 as? Double).map { $0 < 0 } ?? false })
            #expect(logprobs["text_offset"] as? [Int] == [0, 1, 2, 3, 4])
            #expect((logprobs["tokens"] as? [String])?.joined() == "a b c")
        }
    }

    @Test func promptsAsTokenIdsAndStopSequences() async throws {
        try await ServerHarness.with { harness in
            let ids = try ServerHarness.tokenizer.encode("abc")
            let free = try await harness.post("/v1/completions", ["prompt": [ids, ids], "max_tokens": 30, "seed": 9])
            let texts = choiceTexts(free)
            #expect(texts.count == 2 && texts[0] == texts[1])
            let text = texts[0] ?? ""
            guard text.count >= 8 else { return }
            let stop = String(text.dropFirst(4).prefix(2))
            let stopped = try await harness.post("/v1/completions", ["prompt": ids, "max_tokens": 30, "seed": 9, "stop": [stop]])
            let choice = (stopped.json["choices"] as? [[String: Any]])?.first ?? [:]
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(text.hasPrefix((choice["text"] as? String ?? "?") + stop))
        }
    }

    @Test func chatCompletionsWholeAndStreamed() async throws {
        try await ServerHarness.with { harness in
            let request: [String: Any] = [
                "model": "anything", "messages": [["role": "system", "content": "be brief"], ["role": "user", "content": "hi"]],
                "max_tokens": 10, "seed": 3, "logprobs": true, "top_logprobs": 2,
            ]
            let whole = try await harness.post("/v1/chat/completions", request)
            #expect(whole.status == 200)
            #expect(whole.json["object"] as? String == "chat.completion")
            let choice = (whole.json["choices"] as? [[String: Any]])?.first ?? [:]
            #expect((choice["message"] as? [String: Any])?["role"] as? String == "assistant")
            let content = (choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] ?? []
            #expect(content.count == (whole.json["usage"] as? [String: Int])?["completion_tokens"])
            #expect(content.allSatisfy { ($0["top_logprobs"] as? [Any])?.count == 2 })
            var streamed = request
            streamed["stream"] = true
            let stream = try await harness.post("/v1/chat/completions", streamed)
            let first = (stream.events.first?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
            #expect(first?["role"] as? String == "assistant")
            #expect(stream.events.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let last = (stream.events.last?["choices"] as? [[String: Any]])?.first
            #expect(last?["finish_reason"] as? String != nil)
            #expect(choiceTexts(stream, chat: true) == choiceTexts(whole, chat: true))
        }
    }
}
