import GPTGeneration
import Hummingbird

/// Server-sent events: `data: {json}\n\n` per event, `data: [DONE]\n\n` at the end, as OpenAI streams.
enum ServerEvents {
    /// The connection closes after the stream (it was watched for the client going away).
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"]

    static func frame(_ value: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "data: \(value.encoded)\n\n")
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// One stream of the events of several requests (one per prompt), tagged with the request's index;
    /// the time to each request's first token and between each choice's tokens go to `metrics`.
    /// Stop listening and every request is cancelled.
    static func merge(
        _ streams: [AsyncThrowingStream<CompletionEvent, Error>], metrics: ServerMetrics
    ) -> AsyncThrowingStream<(Int, CompletionEvent), Error> {
        let (merged, continuation) = AsyncThrowingStream<(Int, CompletionEvent), Error>.makeStream()
        let submitted = ContinuousClock.now
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, stream) in streams.enumerated() {
                        group.addTask {
                            var lastToken: [Int: ContinuousClock.Instant] = [:]
                            for try await event in stream {
                                if case .token(let choice, _, _, _) = event {
                                    let now = ContinuousClock.now
                                    if let last = lastToken[choice] {
                                        metrics.recordTokenLatency(now - last)
                                    } else if lastToken.isEmpty {
                                        metrics.recordFirstToken(after: now - submitted)
                                    }
                                    lastToken[choice] = now
                                }
                                continuation.yield((index, event))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return merged
    }

    /// A scheduler's refusal or failure as the API reports it.
    static func apiError(_ error: Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as SchedulerError:
            switch error {
            case .queueFull: return .busy(error.description)
            case .shuttingDown: return .shuttingDown
            case .timedOut: return .timedOut(error.description)
            case .invalid(let message): return .badRequest(message)
            case .failed(let message): return .server(message)
            }
        case is CancellationError: return APIError(status: .init(code: 499), message: "the client went away", type: "cancelled")
        default: return .server("\(error)")
        }
    }

    /// A response that streams `produce`'s frames; a client that disconnects cancels it (and so its
    /// requests) within one step, and an error after the start is sent as a final `{"error": …}` event.
    static func response(
        request: Request, produce: @escaping @Sendable (_ write: @Sendable (JSONValue) async throws -> Void) async throws -> Void
    ) -> Response {
        Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                let box = WriterBox(writer: writer)
                do {
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await produce { value in try await box.write(frame(value)) }
                    }
                    try await box.write(done)
                } catch is CancellationError {
                    // The client is gone: nothing to tell it.
                } catch {
                    let failure = apiError(error)
                    try? await box.write(frame(["error": failure.json]))
                    try? await box.write(done)
                }
                try await box.finish()
            })
    }
}

/// The response body writer, shared by the task that produces frames (one writer at a time).
final class WriterBox: @unchecked Sendable {
    private var writer: any ResponseBodyWriter

    init(writer: any ResponseBodyWriter) {
        self.writer = writer
    }

    func write(_ buffer: ByteBuffer) async throws {
        try await writer.write(buffer)
    }

    func finish() async throws {
        try await writer.finish(nil)
    }
}
