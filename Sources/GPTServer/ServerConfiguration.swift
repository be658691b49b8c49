import Foundation

/// What `gpt serve` is told: where to listen, how many sequences to decode together, and the limits
/// a request meets.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); the bound one is reported by `ModelServer.run(onListening:)`.
    public var port = 8080
    /// Sequences decoded together, each with a full-context key/value cache allocated at start.
    public var parallel = 8
    /// Requests allowed to wait for a slot; more get 429.
    public var maxQueue = 64
    /// Seconds a request may run (queueing included) before it ends with 504 / a stream error.
    public var timeout: Double = 600
    /// Request bodies above this many bytes get 413.
    public var bodyLimit = 8 * 1024 * 1024
    /// When set, every route but `/health` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// `Access-Control-Allow-Origin` for browsers (nil: no CORS headers).
    public var corsOrigin: String?
    /// The model id `/v1/models` reports and responses carry.
    public var alias = "model"
    /// Prompt tokens prefilled per step, so that running streams keep flowing during a long prompt.
    public var prefillChunk = 256

    public init() {}
}
