import Foundation
import GPTTensor
import Synchronization

/// A load on a server speaking OpenAI's API on this machine (ours or another, e.g. llama-server):
/// `clients` threads each send `requestsPerClient` streaming completion requests one after another,
/// all starting together. Every request is the same work on any server: a prompt of
/// `promptTokens` token ids drawn from a seeded generator (distinct per client and request), greedy,
/// exactly `maxTokens` generated (`ignore_eos`). What a user waits for is timed at the client: time to
/// the first token and the decode time per token of each request, and the load's wall time.
public struct ServingLoad: Sendable {
    public var port: Int
    public var clients: Int
    public var requestsPerClient: Int
    public var promptTokens: Int
    public var maxTokens: Int
    public var vocabularySize: Int
    public var seed: UInt64 = 1
    public var apiKey: String?

    public init(port: Int, clients: Int, requestsPerClient: Int, promptTokens: Int, maxTokens: Int, vocabularySize: Int) {
        self.port = port
        self.clients = clients
        self.requestsPerClient = requestsPerClient
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.vocabularySize = vocabularySize
    }

    /// One request as the client saw it.
    public struct Request: Sendable {
        public let timeToFirstToken: Double
        /// Seconds per token after the first (the stream's decode rate as the client sees it).
        public let secondsPerToken: Double
        public let tokens: Int
    }

    public struct Report: Sendable {
        public let seconds: Double
        public let requests: [Request]
        /// Requests that failed, with what went wrong.
        public let failures: [String]

        public var generatedTokens: Int { requests.reduce(0) { $0 + $1.tokens } }
        public var tokensPerSecond: Double { Double(generatedTokens) / seconds }
    }

    /// The prompt of request `index` of `client`.
    public func prompt(client: Int, index: Int) -> [Int] {
        var random = RandomGenerator(seed: seed &+ UInt64(client * 1000 + index))
        return (0..<promptTokens).map { _ in random.nextInt(below: vocabularySize) }
    }

    public func body(client: Int, index: Int) -> String {
        let ids = prompt(client: client, index: index).map(String.init).joined(separator: ",")
        return #"{"prompt": [\#(ids)], "max_tokens": \#(maxTokens), "temperature": 0, "stream": true, "ignore_eos": true, "#
            + #""stream_options": {"include_usage": true}}"#
    }

    /// Runs the load; blocks until every request has ended.
    public func run() -> Report {
        let results = Mutex<(requests: [Request], failures: [String])>(([], []))
        let start = monotonicSeconds()
        let group = DispatchGroup()
        for client in 0..<clients {
            group.enter()
            Thread {
                for index in 0..<requestsPerClient {
                    do {
                        let request = try send(client: client, index: index)
                        results.withLock { $0.requests.append(request) }
                    } catch {
                        results.withLock { $0.failures.append("\(error)") }
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let seconds = monotonicSeconds() - start
        return results.withLock { Report(seconds: seconds, requests: $0.requests, failures: $0.failures) }
    }

    /// One streaming request: tokens are the frames with a choice (or the usage the server reports at
    /// the end, where it does).
    func send(client: Int, index: Int) throws -> Request {
        let connection = try HTTPConnection(port: port, timeout: 600)
        defer { connection.disconnect() }
        let sent = monotonicSeconds()
        try connection.send(
            .POST, "/v1/completions", headers: apiKey.map { [("Authorization", "Bearer \($0)")] } ?? [],
            body: body(client: client, index: index))
        let (status, headers) = try connection.readHead()
        var first: Double?
        var last = sent
        var frames = 0
        var usage: Int?
        var pending = ""
        let body = try connection.readBody(headers: headers) { piece in
            pending += piece
            while let end = pending.range(of: "\n\n") {
                let frame = pending[..<end.lowerBound]
                pending.removeSubrange(..<end.upperBound)
                guard frame.hasPrefix("data: ") else { continue }
                if frame.contains("\"completion_tokens\"") { usage = Self.completionTokens(in: frame) }
                guard frame.contains("\"choices\":[{") || frame.contains("\"choices\": [{") else { continue }
                let now = monotonicSeconds()
                if first == nil { first = now }
                last = now
                frames += 1
            }
            return true
        }
        guard status == 200, let first else {
            throw HTTPConnectionError("HTTP \(status): \(body.prefix(200))")
        }
        let tokens = usage ?? frames
        return Request(
            timeToFirstToken: first - sent, secondsPerToken: tokens > 1 ? (last - first) / Double(tokens - 1) : 0,
            tokens: tokens)
    }

    static func completionTokens(in frame: Substring) -> Int? {
        guard let key = frame.range(of: "\"completion_tokens\"") else { return nil }
        let digits = frame[key.upperBound...].drop { $0 == ":" || $0 == " " }.prefix { $0.isNumber }
        return Int(digits)
    }
}
