import Foundation
import GPTServer
import GPTTensor
import Testing

/// Errors in OpenAI's shape with the right status, keys, CORS, a bounded queue, seed determinism
/// under load, cancellation on disconnect and graceful shutdown.
@Suite struct ServerBehaviourTests {
    @Test func badRequestsGetOpenAIErrorsNamingTheField() async throws {
        try await ServerHarness.with({ $0.bodyLimit = 4096 }) { harness in
            let cases: [(String, String, Int, String?)] = [
                ("/v1/completions", "{not json", 400, nil),
                ("/v1/completions", "[1, 2]", 400, nil),
                ("/v1/completions", #"{"prompt": "a", "temperature": "hot"}"#, 400, "temperature"),
                ("/v1/completions", #"{"prompt": "a", "temperature": 3}"#, 400, "temperature"),
                ("/v1/completions", #"{"prompt": "a", "max_tokens": -1}"#, 400, "max_tokens"),
                ("/v1/completions", #"{"prompt": "a", "max_tokens": 1.5}"#, 400, "max_tokens"),
                ("/v1/completions", #"{"prompt": "a", "logprobs": 6}"#, 400, "logprobs"),
                ("/v1/completions", #"{"prompt": "a", "n": 17}"#, 400, "n"),
                ("/v1/completions", #"{"prompt": "a", "suffix": "b"}"#, 400, "suffix"),
                ("/v1/completions", #"{"prompt": "a", "n": 1, "best_of": 3}"#, 400, "best_of"),
                ("/v1/completions", #"{"prompt": [99999]}"#, 400, "prompt"),
                ("/v1/completions", #"{"prompt": []}"#, 400, "prompt"),
                ("/v1/completions", #"{"prompt": "a", "max_tokens": 200}"#, 400, "max_tokens"),
                ("/v1/completions", #"{"prompt": "a", "stop": ["a", "b", "c", "d", "e"]}"#, 400, "stop"),
                ("/v1/completions", #"{"prompt": "a", "logit_bias": {"x": 1}}"#, 400, "logit_bias"),
                ("/v1/completions", #"{"prompt": "a", "stream_options": {"include_usage": true}}"#, 400, "stream_options"),
                ("/v1/chat/completions", #"{"messages": []}"#, 400, "messages"),
                ("/v1/chat/completions", #"{"messages": [{"role": "robot", "content": "x"}]}"#, 400, "messages[0].role"),
                ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "tools": []}"#, 400, "tools"),
                ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}"#, 400, "top_logprobs"),
                ("/tokenize", #"{"content": 5}"#, 400, "content"),
                ("/detokenize", #"{"tokens": [-1]}"#, 400, "tokens"),
                ("/v1/nothing", "{}", 404, nil),
                ("/v1/completions", "{\"prompt\": \"" + String(repeating: "a", count: 5000) + "\"}", 413, nil),
            ]
            for (path, body, status, param) in cases {
                let reply = try await harness.send(.POST, path, body: body)
                #expect(reply.status == status, "\(path) \(body.prefix(60)): \(reply.status) \(reply.body.prefix(200))")
                #expect(reply.error["message"] as? String != nil, "\(path) \(body.prefix(60))")
                #expect(reply.error["type"] as? String != nil)
                if let param { #expect(reply.error["param"] as? String == param, "\(body.prefix(60)): \(reply.body)") }
            }
            let wrongMethod = try await harness.send(.GET, "/v1/completions")
            #expect([404, 405].contains(wrongMethod.status) && wrongMethod.error["message"] != nil)
        }
    }

    @Test func anAPIKeyGuardsEveryRouteButHealth() async throws {
        try await ServerHarness.with({ $0.apiKey = "sekrit" }) { harness in
            #expect(try await harness.send(.GET, "/health").status == 200)
            let missing = try await harness.send(.GET, "/v1/models")
            #expect(missing.status == 401 && missing.error["code"] as? String == "invalid_api_key")
            #expect(try await harness.send(.GET, "/v1/models", headers: [("Authorization", "Bearer sekrix")]).status == 401)
            #expect(try await harness.send(.GET, "/v1/models", headers: [("Authorization", "Bearer sekrit")]).status == 200)
        }
    }

    @Test func corsHeadersOnlyWhenAsked() async throws {
        let origin = ("Origin", "http://example.test")
        try await ServerHarness.with { harness in
            let reply = try await harness.send(.GET, "/v1/models", headers: [origin])
            #expect(reply.headers["Access-Control-Allow-Origin"].isEmpty)
        }
        try await ServerHarness.with({ $0.corsOrigin = "http://example.test"; $0.apiKey = "k" }) { harness in
            let reply = try await harness.send(.GET, "/v1/models", headers: [origin, ("Authorization", "Bearer k")])
            #expect(reply.headers["Access-Control-Allow-Origin"] == ["http://example.test"])
            let preflight = try await harness.send(
                .OPTIONS, "/v1/completions", headers: [origin, ("Access-Control-Request-Method", "POST")])
            #expect(preflight.status < 300)
            #expect(preflight.headers["Access-Control-Allow-Methods"].first?.contains("POST") == true)
        }
    }

    @Test func theSameSeedGivesTheSameTextAloneOrAmongFifteenOthers() async throws {
        try await ServerHarness.with { harness in
            @Sendable func probe(stream: Bool) -> [String: Any] {
                ["prompt": "once upon", "max_tokens": 40, "seed": 77, "temperature": 1.0, "top_k": 20, "stream": stream]
            }
            let alone = choiceTexts(try await harness.post("/v1/completions", probe(stream: false)))
            let crowd = try await withThrowingTaskGroup(of: (Int, [Int: String]).self) { group in
                for other in 0..<15 {
                    group.addTask {
                        let prompt = String(repeating: "ab ", count: other + 1)
                        let body: [String: Any] = ["prompt": prompt, "max_tokens": 20 + other, "seed": other, "stream": other % 2 == 0]
                        return (other, choiceTexts(try await harness.post("/v1/completions", body)))
                    }
                }
                group.addTask { (-1, choiceTexts(try await harness.post("/v1/completions", probe(stream: true)))) }
                var results: [Int: [Int: String]] = [:]
                for try await (index, texts) in group { results[index] = texts }
                return results
            }
            #expect(crowd[-1] == alone)
            #expect(alone[0]?.isEmpty == false)
        }
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        try await ServerHarness.with(contextLength: 1024, slow: true, { $0.parallel = 1; $0.maxQueue = 0 }) { harness in
            let long: [String: Any] = ["prompt": "a", "max_tokens": 1000, "logit_bias": [String(ServerHarness.tokenizer.vocabularySize - 1): -100]]
            let running = Task { try await harness.post("/v1/completions", long) }
            try await waitUntil("the long request runs") { harness.server.scheduler.statistics.running == 1 }
            let refused = try await harness.post("/v1/completions", ["prompt": "b", "max_tokens": 2])
            #expect(refused.status == 429)
            #expect(refused.headers["Retry-After"] == ["1"])
            #expect(refused.error["message"] as? String != nil)
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test func aClientThatDisconnectsStopsItsSequence() async throws {
        try await ServerHarness.with(contextLength: 1024, slow: true, { $0.parallel = 1 }) { harness in
            let port = harness.port
            let frames = try await onOwnThread {
                let connection = try HTTPConnection(port: port)
                try connection.send(.POST, "/v1/completions", headers: [], body: #"{"prompt": "a", "max_tokens": 1000, "stream": true}"#)
                let (_, headers) = try connection.readHead()
                var frames = 0
                _ = try connection.readBody(headers: headers) { piece in
                    frames += piece.components(separatedBy: "data: ").count - 1
                    return frames < 2
                }
                connection.disconnect()  // mid-stream
                return frames
            }
            #expect(frames >= 2)
            var stats = harness.server.scheduler.statistics
            for _ in 0..<500 where stats.cancelledRequests == 0 {
                try await Task.sleep(nanoseconds: 10_000_000)
                stats = harness.server.scheduler.statistics
            }
            #expect(stats.cancelledRequests == 1)
            #expect(stats.running == 0)
            // Generation stopped: the generated-token count in /metrics is far below the 1,000 asked
            // for and no longer moves.
            let generated = try await harness.metrics()["gpt_generated_tokens_total"] ?? -1
            try await Task.sleep(nanoseconds: 200_000_000)
            let later = try await harness.metrics()
            #expect(generated >= 2 && generated < 500)
            #expect(later["gpt_generated_tokens_total"] == generated)
            #expect(later["gpt_cancelled_requests_total"] == 1)
            // The slot is free again.
            let next = try await harness.post("/v1/completions", ["prompt": "b", "max_tokens": 3])
            #expect(next.status == 200)
        }
    }

    @Test func shutdownLetsTheRequestInFlightFinish() async throws {
        try await ServerHarness.with(contextLength: 512, slow: true) { harness in
            let inFlight = Task { try await harness.post("/v1/completions", ["prompt": "a", "max_tokens": 400, "seed": 1]) }
            try await waitUntil("the request runs") { harness.server.scheduler.statistics.running == 1 }
            await harness.server.shutdown()
            let reply = try await inFlight.value
            #expect(reply.status == 200)
            #expect(choiceTexts(reply)[0] != nil)
        }
    }

    @Test func aPortInUseIsAnErrorThatSaysSo() async throws {
        try await ServerHarness.with { harness in
            var configuration = ServerConfiguration()
            configuration.port = harness.port
            let second = try ModelServer(
                model: try ServerHarness.model(), tokenizer: ServerHarness.tokenizer, configuration: configuration,
                chatTemplate: try ChatTemplate(), parallelism: Parallelism(threads: 1))
            await #expect(throws: ServerError.self) { try await second.run(gracefulShutdownSignals: []) }
            await second.scheduler.shutdown(gracePeriod: 0)
        }
    }
}
