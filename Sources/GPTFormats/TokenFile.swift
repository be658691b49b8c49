import Foundation

/// A token stream on disk, read through a memory map.
///
/// swift-gpt's own format (`.tokens`), little-endian throughout:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `SWGPTTOK` |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | bytes per token: 2 (uint16) or 4 (uint32) |
/// | 16 | 8 | token count |
/// | 24 | 8 | vocabulary size |
/// | 32 | 32 | SHA-256 of the source text |
/// | 64 | 32 | SHA-256 of the tokenizer file |
/// | 96 | 32 | zero |
/// | 128 | … | the tokens |
///
/// Also read: nanoGPT's `train.bin` / `val.bin` (raw uint16, no header) and llm.c's token
/// files (a 1024-byte header of int32: magic 20240520, version 1 = uint16 / 2 = uint32, count).
public struct TokenFile: Sendable {
    public enum Format: String, Sendable {
        case swiftGPT = "swift-gpt"
        case nanoGPT = "nanoGPT"
        case llmC = "llm.c"
    }

    public static let magic = Array("SWGPTTOK".utf8)
    public static let headerSize = 128

    public let url: URL
    public let format: Format
    public let tokens: TokenSequence
    /// The vocabulary size recorded in the header (our format), else nil.
    public let vocabularySize: Int?
    public let textHash: String?
    public let tokenizerHash: String?

    /// Opens a token file in any of the three formats. Files without a header (nanoGPT) and
    /// llm.c files need `vocabularySize` to check their ids.
    public init(contentsOf url: URL, vocabularySize expected: Int? = nil) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileFormatError("token file \(path) not found")
        }
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
            throw FileFormatError("cannot read token file \(path)")
        }
        self.url = url
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        if data.count >= Self.headerSize && Array(data.prefix(8)) == Self.magic {
            let version = integer(8, UInt32.self)
            let width = Int(integer(12, UInt32.self))
            let count = Int(integer(16, UInt64.self))
            guard version == 1, width == 2 || width == 4 else {
                throw FileFormatError("\(path): unsupported token file version \(version) or width \(width)")
            }
            guard data.count == Self.headerSize + count * width else {
                throw FileFormatError(
                    "\(path) is truncated: the header promises \(count) tokens (\(Self.headerSize + count * width) bytes) but the file has \(data.count) bytes; delete it to rebuild")
            }
            format = .swiftGPT
            vocabularySize = Int(integer(24, UInt64.self))
            textHash = data[32..<64].map { String(format: "%02x", $0) }.joined()
            tokenizerHash = data[64..<96].map { String(format: "%02x", $0) }.joined()
            tokens = TokenSequence(data: data, offset: Self.headerSize, count: count, width: width)
        } else if data.count >= 1024 && integer(0, Int32.self) == 20_240_520 {
            let version = integer(4, Int32.self)
            let count = Int(integer(8, Int32.self))
            let width = version == 1 ? 2 : version == 2 ? 4 : 0
            guard width > 0 else { throw FileFormatError("\(path): unknown llm.c token file version \(version)") }
            guard data.count == 1024 + count * width else {
                throw FileFormatError("\(path) is truncated: llm.c header promises \(count) tokens but the file has \(data.count) bytes")
            }
            format = .llmC
            vocabularySize = nil
            textHash = nil
            tokenizerHash = nil
            tokens = TokenSequence(data: data, offset: 1024, count: count, width: width)
        } else {
            guard data.count % 2 == 0, !data.isEmpty else {
                throw FileFormatError(
                    "\(path) is not a token file: no swift-gpt or llm.c header, and its size \(data.count) is not a whole number of uint16 tokens (nanoGPT)")
            }
            format = .nanoGPT
            vocabularySize = nil
            textHash = nil
            tokenizerHash = nil
            tokens = TokenSequence(data: data, offset: 0, count: data.count / 2, width: 2)
        }
        if let limit = expected ?? vocabularySize {
            let maximum = tokens.maximum()
            guard maximum < limit else {
                throw FileFormatError(
                    "\(path) holds token id \(maximum), outside the vocabulary of \(limit); pass the vocabulary size it was made with (--vocab-size)")
            }
        }
    }

    /// Writes `tokens` atomically in swift-gpt's format.
    public static func write(
        _ tokens: [Int], vocabularySize: Int, textHash: String, tokenizerHash: String, to url: URL
    ) throws {
        let width = vocabularySize <= 65_536 ? 2 : 4
        var header = [UInt8](repeating: 0, count: headerSize)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { header[offset + index] = byte } }
        }
        header.replaceSubrange(0..<8, with: magic)
        put(UInt32(1), at: 8)
        put(UInt32(width), at: 12)
        put(UInt64(tokens.count), at: 16)
        put(UInt64(vocabularySize), at: 24)
        for (offset, hex) in [(32, textHash), (64, tokenizerHash)] {
            let digits = Array(hex.utf8)
            for index in 0..<min(32, digits.count / 2) {
                header[offset + index] = UInt8(String(decoding: digits[(2 * index)..<(2 * index + 2)], as: UTF8.self), radix: 16) ?? 0
            }
        }
        try AtomicFile.write(to: url) { write in
            try header.withUnsafeBytes { try write($0) }
            if width == 2 {
                try tokens.map { UInt16(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { try write($0) }
            } else {
                try tokens.map { UInt32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { try write($0) }
            }
        }
    }
}

/// Token ids stored as little-endian uint16 or uint32 in (usually memory-mapped) bytes.
public struct TokenSequence: Sendable {
    private let data: Data
    private let offset: Int
    public let count: Int
    public let width: Int

    public init(data: Data, offset: Int, count: Int, width: Int) {
        self.data = data
        self.offset = offset
        self.count = count
        self.width = width
    }

    /// Tokens held in memory (for text tokenized on the fly).
    public init(_ tokens: [Int32]) {
        data = tokens.map { UInt32(bitPattern: $0).littleEndian }.withUnsafeBytes { Data($0) }
        offset = 0
        count = tokens.count
        width = 4
    }

    public subscript(index: Int) -> Int32 {
        data.withUnsafeBytes { raw in token(index, in: raw) }
    }

    /// Token `index` read from the storage bytes `raw`.
    @inline(__always)
    private func token(_ index: Int, in raw: UnsafeRawBufferPointer) -> Int32 {
        let position = offset + index * width
        return width == 2
            ? Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt16.self)))
            : Int32(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
    }

    /// Appends tokens `range` to `destination`.
    public func append(_ range: Range<Int>, to destination: inout [Int32]) {
        data.withUnsafeBytes { raw in
            for index in range { destination.append(token(index, in: raw)) }
        }
    }

    /// A sub-sequence sharing the same storage.
    public func slice(_ range: Range<Int>) -> TokenSequence {
        TokenSequence(data: data, offset: offset + range.lowerBound * width, count: range.count, width: width)
    }

    /// The largest id (0 when empty).
    public func maximum() -> Int {
        var result: Int32 = 0
        data.withUnsafeBytes { raw in
            for index in 0..<count { result = max(result, token(index, in: raw)) }
        }
        return Int(result)
    }

    public var array: [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(count)
        append(0..<count, to: &result)
        return result
    }
}

/// Where tokenized corpora are cached: `$XDG_CACHE_HOME/swift-gpt/tokens`, else `~/.cache/swift-gpt/tokens`.
public enum TokenCache {
    public static func directory(environment: [String: String]) -> URL {
        if let base = environment["XDG_CACHE_HOME"], !base.isEmpty {
            return URL(fileURLWithPath: base).appendingPathComponent("swift-gpt/tokens")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/swift-gpt/tokens")
    }

    /// The cache file for a text and tokenizer, named by both hashes.
    public static func file(textHash: String, tokenizerHash: String, in directory: URL) -> URL {
        directory.appendingPathComponent("\(textHash.prefix(24))-\(tokenizerHash.prefix(24)).tokens")
    }
}
