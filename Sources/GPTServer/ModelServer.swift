import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The OpenAI-compatible server over one model: routes, middleware and the continuous-batching
/// scheduler that owns the model's compute.
public final class ModelServer: Sendable {
    public let model: GPT
    public let tokenizer: any Tokenizer
    public let configuration: ServerConfiguration
    public let chatTemplate: ChatTemplate
    public let scheduler: BatchScheduler
    let metrics = ServerMetrics()
    let inspector: Inspector
    /// Seconds since 1970 when the server started (the model's `created`).
    let created: Int
    /// The running service group, for `shutdown()`.
    private let group = Mutex<ServiceGroup?>(nil)

    public init(
        model: GPT, tokenizer: any Tokenizer, configuration: ServerConfiguration, chatTemplate: ChatTemplate,
        parallelism: Parallelism
    ) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.chatTemplate = chatTemplate
        scheduler = try BatchScheduler(
            model: model, tokenizer: tokenizer, parallel: configuration.parallel, maxQueue: configuration.maxQueue,
            prefillChunk: configuration.prefillChunk, parallelism: parallelism)
        created = Int(Date().timeIntervalSince1970)
        inspector = Inspector(model: model, tokenizer: tokenizer)
    }

    var contextLength: Int { model.configuration.contextLength }

    /// The routes behind their middleware: counted for /metrics, errors as OpenAI's JSON, then CORS,
    /// then the API key.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: APIErrorMiddleware())
        if let origin = configuration.corsOrigin {
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: origin == "*" ? .all : .custom(origin),
                    allowHeaders: [.accept, .authorization, .contentType, .origin], allowMethods: [.get, .post, .options]))
        }
        if let key = configuration.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.get("/") { _, _ in self.playground() }
        router.post("/inspect/next-token") { request, _ in try await self.inspectNextToken(request) }
        router.post("/inspect/attention") { request, _ in try await self.inspectAttention(request) }
        router.post("/inspect/embeddings") { request, _ in try await self.inspectEmbeddings(request) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.scrape(self.scheduler.statistics))))
        }
        router.get("/v1/models") { _, _ in self.models() }
        router.post("/tokenize") { request, _ in try await self.tokenize(request) }
        router.post("/detokenize") { request, _ in try await self.detokenize(request) }
        router.post("/v1/completions") { request, _ in try await self.completions(request) }
        router.post("/v1/chat/completions") { request, _ in try await self.chatCompletions(request) }
        return router
    }

    /// Runs until SIGTERM or SIGINT (or `signals` when given): then stops accepting, lets requests in
    /// flight finish within the timeout, and returns. `onListening` gets the bound port.
    public func run(
        gracefulShutdownSignals signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger = Logger(label: "gpt-serve"),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let app = Application(
            router: router(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "swift-gpt"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: SchedulerService(server: self)), .init(service: app)],
                gracefulShutdownSignals: signals, logger: logger))
        self.group.withLock { $0 = group }
        do {
            try await group.run()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            let reason = error.errnoCode == EADDRINUSE ? "the port is in use" : error.errnoCode == EACCES ? "permission denied" : "no such address here"
            throw ServerError(
                "cannot listen on \(configuration.host):\(configuration.port): \(reason); pick another with --host/--port")
        }
    }

    /// What SIGTERM does: stop accepting, let the requests in flight finish, then `run` returns.
    public func shutdown() async {
        let group = self.group.withLock { $0 }
        await group?.triggerGracefulShutdown()
    }

    /// A JSON response. `closing`: the connection closes after it (it was watched for the client
    /// going away, which consumes it), and says so, so that clients do not reuse it.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, closing: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if closing { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.encoded)))
    }

    /// The request body as a JSON object (413 beyond the limit, 400 when it is not one).
    func fields(of request: inout Request) async throws -> JSONFields {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: configuration.bodyLimit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(limit: configuration.bodyLimit)
        }
        return try JSONFields(body: Data(buffer.readableBytesView))
    }

    // MARK: - Small routes

    func models() -> Response {
        Self.json([
            "object": "list",
            "data": [
                ["id": .string(configuration.alias), "object": "model", "created": .int(created), "owned_by": "swift-gpt",
                 "meta": ["n_ctx": .int(contextLength), "n_vocab": .int(model.configuration.vocabularySize),
                          "n_params": .int(model.parameterCount)]]
            ],
        ])
    }

    func tokenize(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        guard let content = try fields.string("content") else { throw fields.wrongType("content", "a string") }
        let tokens = try encode(content, field: "content")
        if try fields.bool("with_pieces") ?? false {
            return Self.json(["tokens": .array(tokens.map { ["id": .int($0), "piece": .string(tokenizer.decode([$0]))] })])
        }
        return Self.json(["tokens": .array(tokens.map(JSONValue.int))])
    }

    func detokenize(_ request: Request) async throws -> Response {
        var request = request
        let fields = try await fields(of: &request)
        guard case .array(let items) = fields.values["tokens"] ?? .null else { throw fields.wrongType("tokens", "an array of token ids") }
        let tokens = try tokenIDs(items, field: "tokens")
        return Self.json(["content": .string(tokenizer.decode(tokens))])
    }

    func encode(_ text: String, field: String) throws -> [Int] {
        do {
            return try tokenizer.encode(text)
        } catch {
            throw APIError.badRequest("'\(field)' cannot be tokenized: \(error)", param: field)
        }
    }

    /// Token ids from a JSON array, each inside the tokenizer's vocabulary.
    func tokenIDs(_ items: [JSONValue], field: String) throws -> [Int] {
        let V = min(tokenizer.vocabularySize, model.configuration.vocabularySize)
        return try items.map { item in
            guard case .number(let value) = item, value == value.rounded(), value >= 0, value < Double(V) else {
                throw APIError.badRequest("'\(field)' must hold token ids 0…\(V - 1), not \(item.encoded)", param: field)
            }
            return Int(value)
        }
    }
}

/// A server that cannot start, phrased for the user.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The scheduler as a service of the group: on shutdown (after the HTTP server has drained), it
/// lets what is left finish within the timeout and stops its loop.
struct SchedulerService: Service {
    let server: ModelServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.scheduler.shutdown(gracePeriod: server.configuration.timeout)
    }
}
