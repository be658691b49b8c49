/// GPT-2's pre-tokenization, written out by hand: it cuts UTF-8 text into the pieces
/// that the regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// matches (as tiktoken's `gpt2` encoding does), without a regex engine: contractions,
/// an optional space plus letters, an optional space plus numbers, an optional space plus
/// other symbols, and whitespace runs (a run followed by a non-space gives its last
/// character to the next piece).
public enum PreTokenizer {
    /// What the pattern distinguishes about a character.
    enum Kind: UInt8 {
        case letter = 0, number, whitespace, other
    }

    /// Kinds of the Basic Multilingual Plane, computed once.
    static let basicPlaneKinds: [Kind] = (0..<0x10000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return .other }  // surrogates
        return computeKind(scalar)
    }

    static func computeKind(_ scalar: Unicode.Scalar) -> Kind {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .whitespace : .other
        }
    }

    /// The kinds of the Basic Multilingual Plane as a pointer that lives for the process
    /// (read in the hot loop without touching a lazily initialised global each time).
    nonisolated(unsafe) static let kindTable: UnsafePointer<Kind> = {
        let table = UnsafeMutablePointer<Kind>.allocate(capacity: 0x10000)
        table.initialize(from: basicPlaneKinds, count: 0x10000)
        return UnsafePointer(table)
    }()

    @inline(__always)
    static func kind(of value: UInt32, table: UnsafePointer<Kind>) -> Kind {
        if value < 0x10000 {
            return table[Int(value)]
        }
        return Unicode.Scalar(value).map(computeKind) ?? .other
    }

    /// Decodes the scalar at `index`: (value, length in bytes). A byte that does not start a
    /// well-formed UTF-8 sequence is one "character" of its own, of kind other (value 0xFFFD),
    /// so any byte string can be cut into pieces.
    @inline(__always)
    static func scalar(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (UInt32, Int) {
        let lead = UInt32(bytes[index])
        if lead < 0x80 { return (lead, 1) }
        let invalid: (UInt32, Int) = (0xFFFD, 1)
        @inline(__always) func continuation(_ offset: Int) -> UInt32? {
            guard index + offset < bytes.count else { return nil }
            let byte = bytes[index + offset]
            return byte & 0xC0 == 0x80 ? UInt32(byte & 0x3F) : nil
        }
        if lead >= 0xC2 && lead < 0xE0 {
            guard let c1 = continuation(1) else { return invalid }
            return (((lead & 0x1F) << 6) | c1, 2)
        }
        if lead >= 0xE0 && lead < 0xF0 {
            guard let c1 = continuation(1), let c2 = continuation(2) else { return invalid }
            let value = ((lead & 0x0F) << 12) | (c1 << 6) | c2
            guard value >= 0x800, !(0xD800...0xDFFF).contains(value) else { return invalid }
            return (value, 3)
        }
        if lead >= 0xF0 && lead < 0xF5 {
            guard let c1 = continuation(1), let c2 = continuation(2), let c3 = continuation(3) else { return invalid }
            let value = ((lead & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
            guard value >= 0x10000, value <= 0x10FFFF else { return invalid }
            return (value, 4)
        }
        return invalid
    }

    /// Calls `body` with the byte range of each piece of `bytes` (UTF-8, possibly invalid), in order.
    public static func forEachPiece(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        let end = bytes.count
        let table = kindTable
        var start = 0
        while start < end {
            let stop = pieceEnd(from: start, in: bytes, table: table)
            body(start..<stop)
            start = stop
        }
    }

    /// The end of the piece that starts at `start`.
    @inline(__always)
    static func pieceEnd(from start: Int, in bytes: UnsafeBufferPointer<UInt8>, table: UnsafePointer<Kind>) -> Int {
        let end = bytes.count
        let first = bytes[start]
        // 's 't 're 've 'm 'll 'd
        if first == 0x27, start + 1 < end {
            let second = bytes[start + 1]
            switch second {
            case 0x73, 0x74, 0x6D, 0x64: return start + 2  // s t m d
            case 0x72, 0x76:  // r v → "re" "ve"
                if start + 2 < end && bytes[start + 2] == 0x65 { return start + 3 }
            case 0x6C:  // l → "ll"
                if start + 2 < end && bytes[start + 2] == 0x6C { return start + 3 }
            default: break
            }
        }
        // An optional space, then a run of letters, of numbers, or of other symbols.
        var index = start
        if first == 0x20, start + 1 < end { index = start + 1 }
        let (value, length) = scalar(at: index, in: bytes)
        let kind = kind(of: value, table: table)
        if kind != .whitespace {
            var cursor = index + length
            while cursor < end {
                let (next, nextLength) = scalar(at: cursor, in: bytes)
                guard self.kind(of: next, table: table) == kind else { break }
                cursor += nextLength
            }
            return cursor
        }
        // Whitespace (the optional space matched nothing): the run, less its last character
        // when a non-space follows and the run is longer than one character.
        var cursor = start
        var lastStart = start
        while cursor < end {
            let (next, nextLength) = scalar(at: cursor, in: bytes)
            guard self.kind(of: next, table: table) == .whitespace else { break }
            lastStart = cursor
            cursor += nextLength
        }
        if cursor < end && lastStart > start {
            return lastStart
        }
        return cursor
    }
}
