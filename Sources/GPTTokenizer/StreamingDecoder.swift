/// Turns a stream of tokens into text pieces without ever splitting a UTF-8 character:
/// bytes of an incomplete character wait for the next token.
public struct StreamingDecoder {
    private let tokenizer: any Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text completed by `token` (possibly empty).
    public mutating func append(_ token: Int) -> String {
        pending += tokenizer.decodeBytes([token])
        let end = Self.characterBoundary(in: pending, before: pending.count, from: 0)
        let complete = Array(pending[..<end])
        pending.removeFirst(end)
        return String(decoding: complete, as: UTF8.self)
    }

    /// The largest end ≤ `limit` (and ≥ `start`) that does not split a UTF-8 character of `bytes`.
    public static func characterBoundary(in bytes: [UInt8], before limit: Int, from start: Int) -> Int {
        var end = limit
        var back = 0
        while back < 4 && end - back - 1 >= start {
            let byte = bytes[end - back - 1]
            if byte & 0xC0 != 0x80 {  // a lead byte or ASCII
                let needed = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                if back + 1 < needed { end = end - back - 1 }
                break
            }
            back += 1
        }
        return end
    }

    /// Whatever is left at the end of the stream (invalid bytes become U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}
