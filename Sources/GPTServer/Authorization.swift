import Hummingbird

/// `Authorization: Bearer KEY` on every route but `/health` and the playground page itself (which
/// holds no data and asks for the key), compared in constant time.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]

    init(key: String) {
        self.key = Array(key.utf8)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let open = request.uri.path == "/health" || (request.uri.path == "/" && request.method == .get)
        guard !open && request.method != .options else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        guard Self.constantTimeEqual(given, key) else { throw APIError.unauthorized }
        return try await next(request, context)
    }

    /// Equal bytes, in a time that depends on the lengths only (not on where they first differ).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}

/// Every error a handler throws, as OpenAI's error JSON with its status: `APIError` as it is,
/// Hummingbird's own (404 route, 413 body) translated, anything else a 500 that names it.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return Self.response(.notFound(request.uri.path))
            case .contentTooLarge: return Self.response(.tooLarge(limit: context.maxUploadSize))
            case .methodNotAllowed:
                return Self.response(
                    APIError(status: .methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path)", type: "invalid_request_error"))
            default:
                let status = error.status
                return Self.response(
                    APIError(
                        status: status, message: error.body ?? status.reasonPhrase,
                        type: status.code < 500 ? "invalid_request_error" : "server_error"))
            }
        } catch {
            return Self.response(.server("\(error)"))
        }
    }

    static func response(_ error: APIError) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/json"
        return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: error.body)))
    }
}
