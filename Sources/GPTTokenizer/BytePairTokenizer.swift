import Foundation

/// Byte-level byte-pair encoding, as GPT-2 and tiktoken's `gpt2` encoding do it: text is
/// cut by `PreTokenizer`, each piece starts as its UTF-8 bytes, and the adjacent pair whose
/// concatenation is the earliest-learned token is merged until no learned token applies.
/// Decoding gives bytes, so any id sequence decodes (invalid UTF-8 included).
public struct BytePairTokenizer: Tokenizer, Sendable {
    /// Token bytes by id: `pool[offsets[id] ..< offsets[id + 1]]` (special tokens included).
    private let pool: [UInt8]
    private let offsets: [Int32]
    /// Bytes → id for every ordinary token.
    private let table: ByteSequenceTable
    /// Merge rank by id (Int32.max for tokens that are not the result of a merge).
    private let ranks: [Int32]
    /// The id of each single byte.
    private let byteIds: [Int32]
    /// Learned merges in order, as (left id, right id).
    public let merges: [(Int, Int)]
    /// Special tokens, recognised in text only when a call allows them.
    public let specialTokens: [String: Int]

    public var vocabularySize: Int { offsets.count - 1 }
    public var kind: String { "byte-level BPE (\(vocabularySize) tokens, \(merges.count) merges)" }
    public var endOfTextToken: Int? { specialTokens["<|endoftext|>"] }
    public var startToken: Int { endOfTextToken ?? Int(byteIds[0x0A]) }

    /// Builds a tokenizer from byte-level token strings (GPT-2's printable form), the merges
    /// in learned order (as pairs of token strings) and special tokens. `source` names the
    /// files in error messages.
    public init(
        vocabulary: [String: Int], merges mergeStrings: [(String, String)], specialTokens: [String: Int],
        source: String
    ) throws {
        var ordinary = vocabulary
        for name in specialTokens.keys { ordinary[name] = nil }
        let size = max((ordinary.values.max() ?? -1), (specialTokens.values.max() ?? -1)) + 1
        guard size > 0 else { throw TokenizerError("\(source): the vocabulary is empty") }
        // Ids run 0..<count without gaps, so a larger id is corrupt (and must not size an allocation).
        let count = ordinary.count + specialTokens.count
        guard size <= count else {
            throw TokenizerError("\(source): id \(size - 1) is beyond the \(count) tokens; ids must be 0..<\(count) without gaps")
        }
        var bytesById = [[UInt8]?](repeating: nil, count: size)
        var table = ByteSequenceTable(capacity: ordinary.count)
        for (string, id) in ordinary {
            guard id >= 0 else { throw TokenizerError("\(source): token \(string.debugDescription) has negative id \(id)") }
            guard let bytes = ByteLevel.bytes(for: string) else {
                throw TokenizerError("\(source): token \(string.debugDescription) is not in GPT-2's byte-level alphabet")
            }
            guard bytesById[id] == nil else { throw TokenizerError("\(source): id \(id) is used twice") }
            bytesById[id] = bytes
            table.set(bytes, Int32(id))
        }
        for (name, id) in specialTokens {
            guard id >= 0, bytesById[id] == nil else {
                throw TokenizerError("\(source): special token \(name) has id \(id), already used")
            }
            bytesById[id] = Array(name.utf8)
        }
        var byteIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            guard let id = table.value(for: [UInt8(byte)]) else {
                throw TokenizerError("\(source): the vocabulary lacks the single byte 0x\(String(byte, radix: 16)); it is not a byte-level vocabulary")
            }
            byteIds[byte] = id
        }
        if let missing = bytesById.firstIndex(where: { $0 == nil }) {
            throw TokenizerError("\(source): the vocabulary has no token with id \(missing); ids must be 0..<\(size) without gaps")
        }
        var ranks = [Int32](repeating: .max, count: size)
        var merges: [(Int, Int)] = []
        merges.reserveCapacity(mergeStrings.count)
        for (rank, (left, right)) in mergeStrings.enumerated() {
            guard let leftId = ordinary[left], let rightId = ordinary[right], let mergedId = ordinary[left + right] else {
                throw TokenizerError("\(source): merge \(rank + 1) (\(left) \(right)) names a token missing from the vocabulary")
            }
            if ranks[mergedId] == .max { ranks[mergedId] = Int32(rank) }
            merges.append((leftId, rightId))
        }
        var pool: [UInt8] = []
        var offsets: [Int32] = [0]
        for bytes in bytesById {
            pool += bytes!
            offsets.append(Int32(pool.count))
        }
        self.pool = pool
        self.offsets = offsets
        self.table = table
        self.ranks = ranks
        self.byteIds = byteIds
        self.merges = merges
        self.specialTokens = specialTokens
    }

    /// The bytes of token `id`.
    public func bytes(of id: Int) -> ArraySlice<UInt8> {
        pool[Int(offsets[id])..<Int(offsets[id + 1])]
    }

    // MARK: - Encoding

    public func encode(_ text: String) throws -> [Int] {
        try encode(text, specialTokens: .ordinary)
    }

    /// Encodes `text`. With `.ordinary` special-token strings are plain text (tiktoken's
    /// `encode_ordinary`); `.allowed` turns them into their ids; `.rejected` makes their
    /// presence an error.
    public func encode(_ text: String, specialTokens policy: SpecialTokenPolicy, threads: Int = 1) throws -> [Int] {
        var text = text
        return try text.withUTF8 { try encode(bytes: $0, specialTokens: policy, threads: threads) }
    }

    /// Encodes any byte string (invalid UTF-8 included): decoding the ids gives the bytes back.
    public func encode(bytes: [UInt8], specialTokens policy: SpecialTokenPolicy = .ordinary, threads: Int = 1) throws -> [Int] {
        try bytes.withUnsafeBufferPointer { try encode(bytes: $0, specialTokens: policy, threads: threads) }
    }

    func encode(bytes: UnsafeBufferPointer<UInt8>, specialTokens policy: SpecialTokenPolicy, threads: Int) throws -> [Int] {
        var segments: [(Range<Int>, Int?)] = []
        if policy == .ordinary || specialTokens.isEmpty {
            segments = [(0..<bytes.count, nil)]
        } else {
            segments = splitAtSpecialTokens(bytes)
            if policy == .rejected, let found = segments.first(where: { $0.1 != nil }) {
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[found.0]), as: UTF8.self)
                throw TokenizerError(
                    "the text contains the special token \(name) at byte \(found.0.lowerBound); remove it or allow special tokens (--allow-special)")
            }
        }
        if segments.count == 1 && segments[0].1 == nil {
            return encodeOrdinary(bytes, threads: threads)
        }
        var ids: [Int] = []
        ids.reserveCapacity(bytes.count / 4)
        for (range, special) in segments {
            if let special {
                ids.append(special)
            } else {
                ids += encodeOrdinary(UnsafeBufferPointer(rebasing: bytes[range]), threads: threads)
            }
        }
        return ids
    }

    /// Cuts text into ordinary ranges and special-token occurrences (leftmost, longest first).
    private func splitAtSpecialTokens(_ bytes: UnsafeBufferPointer<UInt8>) -> [(Range<Int>, Int?)] {
        let names = specialTokens.keys.sorted { $0.utf8.count > $1.utf8.count }.map { (Array($0.utf8), specialTokens[$0]!) }
        var segments: [(Range<Int>, Int?)] = []
        var start = 0
        var index = 0
        outer: while index < bytes.count {
            for (name, id) in names where bytes[index] == name[0] && index + name.count <= bytes.count {
                if memcmp(bytes.baseAddress! + index, name, name.count) == 0 {
                    if index > start { segments.append((start..<index, nil)) }
                    segments.append((index..<(index + name.count), id))
                    index += name.count
                    start = index
                    continue outer
                }
            }
            index += 1
        }
        if start < bytes.count { segments.append((start..<bytes.count, nil)) }
        return segments
    }

    /// Encodes text without special tokens, split across `threads` at safe boundaries
    /// (after a newline followed by a printable ASCII character, where a piece always starts).
    func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, threads: Int) -> [Int] {
        let chunks = Swift.min(threads, Swift.max(1, bytes.count / 65_536))
        guard chunks > 1 else {
            var encoder = PieceEncoder(tokenizer: self)
            var ids: [Int] = []
            ids.reserveCapacity(bytes.count / 3)
            encoder.encode(bytes, into: &ids)
            return ids
        }
        var bounds = [0]
        for chunk in 1..<chunks {
            var cut = Swift.max(bytes.count * chunk / chunks, bounds.last!)
            while cut < bytes.count - 1 && !(bytes[cut] == 0x0A && (0x21...0x7E).contains(bytes[cut + 1])) { cut += 1 }
            bounds.append(Swift.min(cut + 1, bytes.count))
        }
        bounds.append(bytes.count)
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: chunks)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        let base = UnsafeSendable(value: (bytes, results, bounds))
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let (bytes, results, bounds) = base.value
            var encoder = PieceEncoder(tokenizer: self)
            var ids: [Int] = []
            ids.reserveCapacity((bounds[chunk + 1] - bounds[chunk]) / 3)
            encoder.encode(UnsafeBufferPointer(rebasing: bytes[bounds[chunk]..<bounds[chunk + 1]]), into: &ids)
            results[chunk] = ids
        }
        var ids: [Int] = []
        ids.reserveCapacity(results.reduce(0) { $0 + $1.count })
        for part in results { ids += part }
        return ids
    }

    /// Applies the merges to one piece, appending its ids.
    @inline(__always)
    func mergePiece(_ piece: UnsafeRawBufferPointer, parts: inout [(start: Int, rank: Int32)], into ids: inout [Int]) {
        @inline(__always) func rank(_ start: Int, _ end: Int) -> Int32 {
            guard let id = table.value(for: UnsafeRawBufferPointer(rebasing: piece[start..<end])) else { return .max }
            return ranks[Int(id)]
        }
        let count = piece.count
        parts.removeAll(keepingCapacity: true)
        for index in 0..<count {
            parts.append((index, index + 2 <= count ? rank(index, index + 2) : .max))
        }
        parts.append((count, .max))
        while parts.count > 2 {
            var best = Int32.max
            var position = 0
            for index in 0..<(parts.count - 1) where parts[index].rank < best {
                best = parts[index].rank
                position = index
            }
            if best == .max { break }
            parts.remove(at: position + 1)
            parts[position].rank = position + 2 < parts.count ? rank(parts[position].start, parts[position + 2].start) : .max
            if position > 0 {
                parts[position - 1].rank = rank(parts[position - 1].start, parts[position + 1].start)
            }
        }
        for index in 0..<(parts.count - 1) {
            let range = parts[index].start..<parts[index + 1].start
            ids.append(Int(table.value(for: UnsafeRawBufferPointer(rebasing: piece[range]))!))
        }
    }

    // MARK: - Decoding

    public func decodeBytes(_ tokens: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for token in tokens where token >= 0 && token < vocabularySize {
            bytes += self.bytes(of: token)
        }
        return bytes
    }

    public var description: TokenizerDescription {
        .bytePair(vocabulary: encoderJSON, merges: mergeLines, specialTokens: specialTokens)
    }

    /// The vocabulary in GPT-2's `encoder.json` form (byte-level strings → ids, specials included).
    public var encoderJSON: [String: Int] {
        var result: [String: Int] = [:]
        let special = Set(specialTokens.values)
        for id in 0..<vocabularySize where !special.contains(id) {
            result[ByteLevel.string(for: bytes(of: id))] = id
        }
        for (name, id) in specialTokens { result[name] = id }
        return result
    }

    /// The merges as GPT-2's `vocab.bpe` lines ("left right").
    public var mergeLines: [String] {
        merges.map { ByteLevel.string(for: bytes(of: $0.0)) + " " + ByteLevel.string(for: bytes(of: $0.1)) }
    }
}

/// How special-token strings in text are treated.
public enum SpecialTokenPolicy: Sendable {
    /// As ordinary text (the default; tiktoken's `encode_ordinary`).
    case ordinary
    /// As their special ids.
    case allowed
    /// As an error.
    case rejected
}

/// Encodes a run of ordinary text piece by piece, remembering multi-token pieces.
struct PieceEncoder {
    let tokenizer: BytePairTokenizer
    private var cache = ByteSequenceTable(capacity: 4096)
    private var cachedIds: [Int32] = []
    private var cachedRanges: [(Int32, Int32)] = []
    private var parts: [(start: Int, rank: Int32)] = []
    private var scratch: [Int] = []

    init(tokenizer: BytePairTokenizer) {
        self.tokenizer = tokenizer
    }

    mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        guard let base = bytes.baseAddress else { return }
        PreTokenizer.forEachPiece(in: bytes) { range in
            let piece = UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
            if let id = tokenizer.wholeToken(piece) {
                ids.append(id)
            } else if let entry = cache.value(for: piece) {
                let (start, end) = cachedRanges[Int(entry)]
                for index in Int(start)..<Int(end) { ids.append(Int(cachedIds[index])) }
            } else {
                scratch.removeAll(keepingCapacity: true)
                tokenizer.mergePiece(piece, parts: &parts, into: &scratch)
                ids += scratch
                if cachedRanges.count >= 1 << 20 {
                    cache = ByteSequenceTable(capacity: 4096)
                    cachedIds.removeAll(keepingCapacity: true)
                    cachedRanges.removeAll(keepingCapacity: true)
                }
                let start = Int32(cachedIds.count)
                for id in scratch { cachedIds.append(Int32(id)) }
                cache.set(piece, Int32(cachedRanges.count))
                cachedRanges.append((start, Int32(cachedIds.count)))
            }
        }
    }
}

extension BytePairTokenizer {
    /// The id of a piece that is itself a token (the common case for words).
    @inline(__always)
    func wholeToken(_ piece: UnsafeRawBufferPointer) -> Int? {
        if piece.count == 1 { return Int(byteIds[Int(piece[0])]) }
        return table.value(for: piece).map(Int.init)
    }
}

/// Carries non-Sendable pointers into `concurrentPerform`; each chunk touches only its own slot.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
}
