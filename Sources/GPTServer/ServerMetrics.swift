import GPTGeneration
import Hummingbird
import Prometheus
import Synchronization

/// What `GET /metrics` reports, in Prometheus's text format (swift-prometheus): requests by route and
/// status, the scheduler's token counters and levels, and the latencies clients see — time to the
/// first token and between tokens of a stream, measured where the server receives them.
final class ServerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let promptTokens: Counter
    private let generatedTokens: Counter
    private let cancelledRequests: Counter
    private let steps: Counter
    private let queueDepth: Gauge
    private let runningSequences: Gauge
    private let timeToFirstToken: DurationHistogram
    private let tokenLatency: DurationHistogram
    /// The scheduler's counters at the last scrape (Prometheus counters only go up by increments).
    private let lastScrape = Mutex(SchedulerStatistics())

    /// The routes named in `gpt_requests_total`; anything else counts as "other".
    static let routes: Set<String> = [
        "/", "/health", "/metrics", "/v1/models", "/tokenize", "/detokenize", "/v1/completions", "/v1/chat/completions",
        "/inspect/next-token", "/inspect/attention", "/inspect/embeddings",
    ]

    init() {
        promptTokens = registry.makeCounter(name: "gpt_prompt_tokens_total", help: "Prompt tokens prefilled.")
        generatedTokens = registry.makeCounter(name: "gpt_generated_tokens_total", help: "Tokens generated.")
        cancelledRequests = registry.makeCounter(
            name: "gpt_cancelled_requests_total", help: "Requests stopped because their client went away.")
        steps = registry.makeCounter(name: "gpt_batch_steps_total", help: "Batched forward passes run.")
        queueDepth = registry.makeGauge(name: "gpt_queue_depth", help: "Requests waiting for a slot.")
        runningSequences = registry.makeGauge(name: "gpt_running_sequences", help: "Sequences decoding.")
        let seconds: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        timeToFirstToken = registry.makeDurationHistogram(
            name: "gpt_time_to_first_token_seconds", buckets: seconds.map { .milliseconds(Int64($0 * 1000)) },
            help: "From a request's arrival to its first token.")
        let perToken: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
        tokenLatency = registry.makeDurationHistogram(
            name: "gpt_token_latency_seconds", buckets: perToken.map { .microseconds(Int64($0 * 1_000_000)) },
            help: "Between consecutive tokens of a stream.")
    }

    func countRequest(path: String, status: Int) {
        let route = Self.routes.contains(path) ? path : "other"
        registry.makeCounter(
            name: "gpt_requests_total", labels: [("route", route), ("status", String(status))],
            help: "HTTP requests answered, by route and status."
        ).increment()
    }

    func recordFirstToken(after duration: Duration) { timeToFirstToken.record(duration) }
    func recordTokenLatency(_ duration: Duration) { tokenLatency.record(duration) }

    /// The text a scrape returns, with the scheduler's state as of now.
    func scrape(_ statistics: SchedulerStatistics) -> String {
        lastScrape.withLock { last in
            promptTokens.increment(by: Int64(statistics.promptTokens - last.promptTokens))
            generatedTokens.increment(by: Int64(statistics.generatedTokens - last.generatedTokens))
            cancelledRequests.increment(by: Int64(statistics.cancelledRequests - last.cancelledRequests))
            steps.increment(by: Int64(statistics.steps - last.steps))
            last = statistics
        }
        queueDepth.set(to: Double(statistics.queued))
        runningSequences.set(to: Double(statistics.running))
        return registry.emitToString()
    }
}

/// Counts every answered request by route and status (outside the error middleware, so errors
/// count with the status they were answered with).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.countRequest(path: request.uri.path, status: response.status.code)
            return response
        } catch let error as HTTPResponseError {
            metrics.countRequest(path: request.uri.path, status: error.status.code)
            throw error
        } catch {
            metrics.countRequest(path: request.uri.path, status: 500)
            throw error
        }
    }
}
