import Foundation
import Hummingbird

/// An error as OpenAI's API reports it — `{"error": {"message", "type", "param", "code"}}` with its
/// HTTP status — thrown anywhere in a handler and turned into a response by `APIErrorMiddleware`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let param: String?
    public let code: String?
    /// Extra response headers (`Retry-After` on 429).
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(message)" }

    static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static let unauthorized = APIError(
        status: .unauthorized, message: "missing or wrong API key: send 'Authorization: Bearer KEY'",
        type: "invalid_request_error", code: "invalid_api_key")

    static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, message: "no route \(path)", type: "invalid_request_error", code: "not_found")
    }

    static func tooLarge(limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error",
            code: "request_too_large")
    }

    static func busy(_ message: String) -> APIError {
        var error = APIError(status: .tooManyRequests, message: message, type: "server_busy", code: "queue_full")
        error.headers[.retryAfter] = "1"
        return error
    }

    static let shuttingDown = APIError(status: .serviceUnavailable, message: "the server is shutting down", type: "server_unavailable")

    static func timedOut(_ message: String) -> APIError {
        APIError(status: .gatewayTimeout, message: message, type: "timeout")
    }

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error")
    }

    /// The inner object: message, type, param, code.
    var json: JSONValue {
        ["message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
         "code": code.map(JSONValue.string) ?? .null]
    }

    /// The JSON body.
    var body: String { JSONValue.object(["error": json]).encoded }
}
