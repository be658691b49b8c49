import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking HTTP/1.1 client over a TCP socket to a server on this machine, for the server's
/// tests and `gpt bench serve`'s load: one request per connection (`Connection: close`), bodies by
/// length, chunked or until the server closes, read as they arrive. Run it on a thread of its own.
/// (AsyncHTTPClient would bring two BoringSSL builds into every CI run for TLS this never uses.)
public final class HTTPConnection: @unchecked Sendable {
    public enum Method: String, Sendable {
        case GET, POST, OPTIONS
    }

    /// Response headers, looked up case-insensitively.
    public struct Headers: Sendable {
        public let fields: [(name: String, value: String)]

        public subscript(name: String) -> [String] {
            fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
        }
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var closed = false

    /// Connects to 127.0.0.1:`port`; the connection gives up on reads after `timeout` seconds.
    public init(port: Int, timeout: Int = 60) throws {
        #if canImport(Glibc)
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw HTTPConnectionError( "socket() failed") }
        var timeout = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            _ = close(descriptor)
            throw HTTPConnectionError( "cannot connect to port \(port)")
        }
    }

    deinit { disconnect() }

    public func disconnect() {
        guard !closed else { return }
        closed = true
        _ = close(descriptor)
    }

    public func send(_ method: Method, _ path: String, headers: [(String, String)], body: String?) throws {
        var head = "\(method.rawValue) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
        let message = Array((head + "\r\n").utf8) + bytes
        var sent = 0
        while sent < message.count {
            let count = message[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw HTTPConnectionError( "the server closed the connection while we sent") }
            sent += count
        }
    }

    /// More bytes from the server; false once it has closed the connection.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw HTTPConnectionError( "read failed or timed out (errno \(errno))") }
        buffer += chunk[0..<count]
        return count > 0
    }

    /// The status line and headers.
    public func readHead() throws -> (status: Int, headers: Headers) {
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if let end = buffer.firstRange(of: separator) {
                let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                buffer.removeSubrange(..<end.upperBound)
                let parts = lines[0].split(separator: " ")
                guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPConnectionError( "bad status line \(lines[0])") }
                let fields = lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                return (status, Headers(fields: fields))
            }
            guard try fill() else { throw HTTPConnectionError( "the server closed the connection before its headers") }
        }
    }

    /// The body after `readHead`, calling `onData` as pieces arrive (return false to stop reading).
    public func readBody(headers: Headers, onData: (String) -> Bool = { _ in true }) throws -> String {
        var body: [UInt8] = []
        if headers["Transfer-Encoding"].first?.lowercased() == "chunked" {
            while true {
                guard let line = buffer.firstRange(of: Array("\r\n".utf8)) else {
                    guard try fill() else { break }
                    continue
                }
                let size = Int(String(decoding: buffer[..<line.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
                while buffer.count < line.upperBound + size + 2 {
                    guard try fill() else { throw HTTPConnectionError( "the connection closed inside a chunk") }
                }
                let piece = Array(buffer[line.upperBound..<(line.upperBound + size)])
                buffer.removeSubrange(..<(line.upperBound + size + 2))
                if size == 0 { break }
                body += piece
                if !onData(String(decoding: piece, as: UTF8.self)) { break }
            }
        } else if let length = headers["Content-Length"].first.flatMap({ Int($0) }) {
            while buffer.count < length {
                guard try fill() else { throw HTTPConnectionError( "the body ended early") }
            }
            body = Array(buffer[..<length])
        } else {
            while try fill() {}
            body = buffer
        }
        return String(decoding: body, as: UTF8.self)
    }
}

/// A connection that failed, phrased for the user.
public struct HTTPConnectionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
