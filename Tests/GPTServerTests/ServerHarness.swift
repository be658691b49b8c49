import Foundation
import GPTTestSupport
import GPTModel
import GPTServer
import GPTTensor
import GPTTokenizer
import Testing

/// A server on a free port over a tiny character-level model, and an HTTP client that talks to it.
struct ServerHarness {
    static let tokenizer = CharacterTokenizer(training: "abcdefghijklmnopqrstuvwxyz .,!?\n<|>_")

    let server: ModelServer
    let port: Int

    /// A tiny model, or (`slow`) one big enough that a 1,000-token request takes seconds, for tests
    /// that must act while a request is still running.
    static func model(contextLength: Int = 128, slow: Bool = false) throws -> GPT {
        var random = RandomGenerator(seed: 8)
        return try GPT(
            configuration: GPTConfiguration(
                vocabularySize: tokenizer.vocabularySize, contextLength: contextLength, embeddingSize: slow ? 256 : 32,
                layerCount: slow ? 6 : 2, headCount: 4),
            generator: &random)
    }

    /// Starts a server, runs `body`, then shuts the server down gracefully and waits for it.
    static func with(
        contextLength: Int = 128, slow: Bool = false, _ adjust: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (ServerHarness) async throws -> Void
    ) async throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.alias = "tiny"
        configuration.parallel = 16
        adjust(&configuration)
        let server = try ModelServer(
            model: try model(contextLength: contextLength, slow: slow), tokenizer: tokenizer, configuration: configuration,
            chatTemplate: try ChatTemplate(), parallelism: Parallelism(threads: 2))
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let running = Task { try await server.run(gracefulShutdownSignals: []) { portContinuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            try await body(ServerHarness(server: server, port: port))
        } catch {
            await server.shutdown()
            _ = try? await running.value
            throw error
        }
        await server.shutdown()
        try await running.value
    }

    struct Reply {
        let status: Int
        let headers: HTTPConnection.Headers
        let body: String

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
        /// The `data:` payloads of a server-sent event stream, `[DONE]` left out.
        var events: [[String: Any]] {
            body.components(separatedBy: "\n\n").compactMap { frame in
                guard frame.hasPrefix("data: "), frame != "data: [DONE]" else { return nil }
                return (try? JSONSerialization.jsonObject(with: Data(frame.dropFirst(6).utf8))) as? [String: Any]
            }
        }
    }

    func send(
        _ method: HTTPConnection.Method = .POST, _ path: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        let port = port
        return try await onOwnThread {
            let connection = try HTTPConnection(port: port)
            defer { connection.disconnect() }
            try connection.send(method, path, headers: headers, body: body)
            let (status, responseHeaders) = try connection.readHead()
            return Reply(status: status, headers: responseHeaders, body: try connection.readBody(headers: responseHeaders))
        }
    }

    /// The samples of `GET /metrics`, by name with labels as the text shows them (`a{b="c"}`).
    func metrics() async throws -> [String: Double] {
        let reply = try await send(.GET, "/metrics")
        var samples: [String: Double] = [:]
        for line in reply.body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// Runs `Scripts/<script>` (a real client: the openai package, Playwright) with the reference Python
    /// against this server's `path`: its exit status, the checks it printed ("ok …" lines) and its errors.
    func runClient(_ script: String, path: String = "", _ arguments: [String] = []) async throws -> (status: Int32, passed: Int, output: String) {
        try #require(
            FileManager.default.isExecutableFile(atPath: referencePython.path),
            "no reference environment at \(referencePython.path); run Scripts/install-dependencies.sh --with-test-tools")
        let url = "http://127.0.0.1:\(port)\(path)"
        let (status, printed, complaints) = try await onOwnThread {
            try runReferenceScript(script, [url] + arguments, environment: ["NO_PROXY": "127.0.0.1"])
        }
        let checks = String(decoding: printed, as: UTF8.self)
        return (status, checks.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count, checks + complaints)
    }

    func post(_ path: String, _ json: [String: Any], headers: [(String, String)] = []) async throws -> Reply {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await send(.POST, path, body: String(decoding: data, as: UTF8.self), headers: headers)
    }
}

/// Waits (up to 30 s) until `condition` holds; a test fails rather than hangs when it never does.
func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(30)
    while !condition() {
        guard Date() < deadline else {
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
        try await Task.sleep(nanoseconds: 1_000_000)
    }
}

/// The text of a completion's choices, by index (whole responses or concatenated stream chunks).
func choiceTexts(_ reply: ServerHarness.Reply, chat: Bool = false) -> [Int: String] {
    var texts: [Int: String] = [:]
    let objects = reply.events.isEmpty ? [reply.json] : reply.events
    for object in objects {
        for choice in object["choices"] as? [[String: Any]] ?? [] {
            let index = choice["index"] as? Int ?? -1
            let text: String?
            if chat {
                text = ((choice["message"] ?? choice["delta"]) as? [String: Any])?["content"] as? String
            } else {
                text = choice["text"] as? String
            }
            texts[index, default: ""] += text ?? ""
        }
    }
    return texts
}

/// Runs blocking work (a socket client) on a thread of its own and awaits its result, so that the
/// test process's cooperative threads stay free for the server.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
