import Foundation
import GPTTensor

/// A token stream on disk, read through a memory map.
///
/// swift-gpt's own format (`.tokens`), little-endian throughout:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `SWGPTTOK` |
/// | 8 | 4 | format version (2; version 1 had no checksum) |
/// | 12 | 4 | bytes per token: 2 (uint16) or 4 (uint32) |
/// | 16 | 8 | token count |
/// | 24 | 8 | vocabulary size |
/// | 32 | 32 | SHA-256 of the source text |
/// | 64 | 32 | SHA-256 of the tokenizer file |
/// | 96 | 8 | checksum of the token bytes (version 2; see `TokenFile.checksum`) |
/// | 104 | 24 | zero |
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
    /// Our format's version: 2 carries a checksum of the ids, verified on opening; 1 has none.
    public let version: Int?

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
        try self.init(data: data, url: url, vocabularySize: expected)
    }

    /// Parses token-file bytes (a mapped file's, or a fuzzer's); `url` names them in errors.
    public init(data: Data, url: URL, vocabularySize expected: Int? = nil) throws {
        let path = url.path
        self.url = url
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        if data.count >= Self.headerSize && Array(data.prefix(8)) == Self.magic {
            let version = integer(8, UInt32.self)
            let width = Int(integer(12, UInt32.self))
            guard version == 1 || version == 2, width == 2 || width == 4 else {
                throw FileFormatError("\(path): unsupported token file version \(version) or width \(width); delete it to rebuild")
            }
            let header = integer(16, UInt64.self)
            guard let count = CheckedSize.count(header), let bytes = CheckedSize.product(count, width),
                let size = CheckedSize.sum(Self.headerSize, bytes), data.count == size
            else {
                throw FileFormatError(
                    "\(path) is truncated or corrupt: the header promises \(header) tokens of \(width) bytes but the file has \(data.count) bytes; delete it to rebuild")
            }
            guard let vocabulary = CheckedSize.count(integer(24, UInt64.self)), vocabulary > 0, vocabulary <= 1 << 32 else {
                throw FileFormatError("\(path): corrupt vocabulary size \(integer(24, UInt64.self)) in the header; delete it to rebuild")
            }
            format = .swiftGPT
            self.version = Int(version)
            vocabularySize = vocabulary
            textHash = data[32..<64].map { String(format: "%02x", $0) }.joined()
            tokenizerHash = data[64..<96].map { String(format: "%02x", $0) }.joined()
            tokens = TokenSequence(data: data, offset: Self.headerSize, count: count, width: width)
            if version == 2 {
                let recorded = integer(96, UInt64.self)
                let actual = data.withUnsafeBytes { Self.checksum(UnsafeRawBufferPointer(rebasing: $0[Self.headerSize...])) }
                guard recorded == actual else {
                    throw FileFormatError("\(path): the token ids do not match the header's checksum (the file was altered); delete it to rebuild")
                }
            }
        } else if data.count >= 1024 && integer(0, Int32.self) == 20_240_520 {
            let llmVersion = integer(4, Int32.self)
            let count = Int(integer(8, Int32.self))
            let width = llmVersion == 1 ? 2 : llmVersion == 2 ? 4 : 0
            guard width > 0 else { throw FileFormatError("\(path): unknown llm.c token file version \(llmVersion)") }
            guard count >= 0, data.count == 1024 + count * width else {
                throw FileFormatError("\(path) is truncated: llm.c header promises \(count) tokens but the file has \(data.count) bytes")
            }
            format = .llmC
            version = nil
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
            version = nil
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
        put(UInt32(2), at: 8)
        put(UInt32(width), at: 12)
        put(UInt64(tokens.count), at: 16)
        put(UInt64(vocabularySize), at: 24)
        for (offset, hex) in [(32, textHash), (64, tokenizerHash)] {
            let digits = Array(hex.utf8)
            for index in 0..<min(32, digits.count / 2) {
                header[offset + index] = UInt8(String(decoding: digits[(2 * index)..<(2 * index + 2)], as: UTF8.self), radix: 16) ?? 0
            }
        }
        let body: Data = width == 2
            ? tokens.map { UInt16(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { Data($0) }
            : tokens.map { UInt32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { Data($0) }
        put(body.withUnsafeBytes { checksum($0) }, at: 96)
        try AtomicFile.write(to: url) { write in
            try header.withUnsafeBytes { try write($0) }
            try body.withUnsafeBytes { try write($0) }
        }
    }

    /// A 64-bit checksum of the token bytes (FNV-1a over 8-byte little-endian words, then the
    /// remaining bytes): fast enough to verify a large cache on every opening, and a guard against
    /// edits and corruption, not against an adversary.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01B3
        let words = bytes.count / 8
        for index in 0..<words {
            hash = (hash ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))) &* prime
        }
        for index in (words * 8)..<bytes.count { hash = (hash ^ UInt64(bytes[index])) &* prime }
        return hash
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
