import Foundation
import GPTTensor
import GPTFormats

/// Word vectors: words by index (most frequent first in files we write) and their vectors,
/// read and written in word2vec's text and binary formats (which gensim's
/// `KeyedVectors.load_word2vec_format` reads).
public struct WordVectors: Sendable {
    public let words: [String]
    public let dimensions: Int
    /// Row-major (words × dimensions).
    public let values: [Float]
    private let index: [String: Int]
    /// Unit-length rows, for cosine similarity.
    let unit: [Float]

    public init(words: [String], dimensions: Int, values: [Float]) {
        precondition(values.count == words.count * dimensions, "WordVectors: values do not match words × dimensions")
        self.words = words
        self.dimensions = dimensions
        self.values = values
        var index: [String: Int] = [:]
        for (position, word) in words.enumerated() where index[word] == nil { index[word] = position }
        self.index = index
        var unit = values
        for row in 0..<words.count {
            var norm: Float = 0
            for k in 0..<dimensions { norm += values[row * dimensions + k] * values[row * dimensions + k] }
            let inverse = norm > 0 ? 1 / norm.squareRoot() : 0
            for k in 0..<dimensions { unit[row * dimensions + k] *= inverse }
        }
        self.unit = unit
    }

    public func contains(_ word: String) -> Bool { index[word] != nil }

    public func vector(_ word: String) -> ArraySlice<Float>? {
        index[word].map { values[($0 * dimensions)..<(($0 + 1) * dimensions)] }
    }

    func position(of word: String) -> Int? { index[word] }

    func require(_ word: String) throws -> Int {
        guard let position = index[word] else {
            throw EmbeddingError("'\(word)' is not in the vocabulary of \(words.count) words")
        }
        return position
    }

    /// Cosine similarity of unit rows a and b.
    func cosine(_ a: Int, _ b: Int) -> Float {
        var sum: Float = 0
        for k in 0..<dimensions { sum += unit[a * dimensions + k] * unit[b * dimensions + k] }
        return sum
    }

    /// The `top` words nearest to `word` by cosine similarity (the word itself excluded).
    public func similar(to word: String, top: Int = 10, restrictTo limit: Int? = nil) throws -> [(word: String, similarity: Float)] {
        let position = try require(word)
        return best(top, limit: limit, excluding: [position]) { cosine(position, $0) }
    }

    /// The `top` rows nearest to row `position` by cosine similarity (the row itself excluded), as
    /// (row, similarity): for vectors whose labels need not be distinct, such as token embeddings.
    public func nearest(toRow position: Int, top: Int = 10) -> [(row: Int, similarity: Float)] {
        bestRows(top, limit: nil, excluding: [position]) { cosine(position, $0) }
    }

    public enum AnalogyMethod: String, CaseIterable, Sendable {
        /// argmax cos(x, b) − cos(x, a) + cos(x, c) (Mikolov et al.).
        case add = "3cosadd"
        /// argmax cos(x, b)·cos(x, c) / (cos(x, a) + ε), cosines shifted to [0, 1] (Levy & Goldberg).
        case multiply = "3cosmul"

        /// 3CosMul's score of a word from its cosines with a, b and c.
        @inline(__always)
        static func multiplicativeScore(a: Float, b: Float, c: Float) -> Float {
            let (sa, sb, sc) = ((1 + a) / 2, (1 + b) / 2, (1 + c) / 2)
            return sb * sc / (sa + 1e-6)
        }
    }

    /// Words for "a is to b as c is to ?", the three inputs excluded.
    public func analogy(
        _ a: String, _ b: String, _ c: String, top: Int = 10, method: AnalogyMethod = .add, restrictTo limit: Int? = nil
    ) throws -> [(word: String, similarity: Float)] {
        let (ia, ib, ic) = (try require(a), try require(b), try require(c))
        switch method {
        case .add:
            // Cosine with the normalised b − a + c (gensim's most_similar with positive/negative).
            var target = [Float](repeating: 0, count: dimensions)
            for k in 0..<dimensions {
                target[k] = unit[ib * dimensions + k] - unit[ia * dimensions + k] + unit[ic * dimensions + k]
            }
            let norm = target.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return best(top, limit: limit, excluding: [ia, ib, ic]) { row in
                var sum: Float = 0
                for k in 0..<dimensions { sum += unit[row * dimensions + k] * target[k] }
                return sum / max(norm, 1e-12)
            }
        case .multiply:
            return best(top, limit: limit, excluding: [ia, ib, ic]) { row in
                AnalogyMethod.multiplicativeScore(a: cosine(row, ia), b: cosine(row, ib), c: cosine(row, ic))
            }
        }
    }

    private func best(
        _ top: Int, limit: Int?, excluding: Set<Int>, score: (Int) -> Float
    ) -> [(word: String, similarity: Float)] {
        bestRows(top, limit: limit, excluding: excluding, score: score).map { (words[$0.row], $0.similarity) }
    }

    private func bestRows(
        _ top: Int, limit: Int?, excluding: Set<Int>, score: (Int) -> Float
    ) -> [(row: Int, similarity: Float)] {
        var results: [(row: Int, similarity: Float)] = []
        guard top > 0 else { return results }
        for row in 0..<min(words.count, limit ?? words.count) where !excluding.contains(row) {
            let value = score(row)
            if results.count < top || value > results.last!.similarity {
                let position = results.firstIndex { $0.similarity < value } ?? results.count
                results.insert((row, value), at: position)
                if results.count > top { results.removeLast() }
            }
        }
        return results
    }

    // MARK: - Files

    public enum FileFormat: String, CaseIterable, Sendable {
        case text, binary

        /// `.bin` is binary, anything else text.
        public static func forPath(_ path: String) -> FileFormat {
            path.lowercased().hasSuffix(".bin") ? .binary : .text
        }
    }

    /// Writes "count dimensions" then one word per line (text: values in decimal; binary:
    /// the word, a space, little-endian float32 values, a newline), atomically.
    public func write(to url: URL, format: FileFormat) throws {
        var data = Data("\(words.count) \(dimensions)\n".utf8)
        for (row, word) in words.enumerated() {
            let vector = values[(row * dimensions)..<((row + 1) * dimensions)]
            switch format {
            case .text:
                data.append(contentsOf: Array((word + " " + vector.map { String($0) }.joined(separator: " ") + "\n").utf8))
            case .binary:
                data.append(contentsOf: Array((word + " ").utf8))
                vector.withUnsafeBytes { data.append(contentsOf: $0) }
                data.append(0x0A)
            }
        }
        try AtomicFile.write(data, to: url)
    }

    /// Reads word2vec text or binary vectors (the format from the header's line ending and content).
    public static func read(from path: String, format: FileFormat? = nil) throws -> WordVectors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileFormatError("vector file \(path) not found or unreadable")
        }
        return try read(data: data, source: path, format: format ?? FileFormat.forPath(path))
    }

    /// Parses word2vec text or binary bytes; `source` names them in errors.
    public static func read(data: Data, source path: String, format: FileFormat) throws -> WordVectors {
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> WordVectors in
            let bytes = raw.bindMemory(to: UInt8.self)
            var position = 0
            func line() -> String? {
                guard position < bytes.count else { return nil }
                let start = position
                while position < bytes.count && bytes[position] != 0x0A { position += 1 }
                defer { position += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            }
            guard let header = line(), case let parts = header.split(separator: " "), parts.count == 2,
                let count = Int(parts[0]), let dimensions = Int(parts[1]), count > 0, dimensions > 0
            else {
                throw FileFormatError("\(path) does not start with a word2vec header \"count dimensions\"")
            }
            // Each vector takes at least a word and a separator plus 2 bytes a value (text: a digit and
            // a space) or 4 (binary): a header promising more than the file can hold is corrupt.
            let valueBytes = format == .text ? 2 : 4
            guard let perVector = CheckedSize.product(dimensions, valueBytes).flatMap({ CheckedSize.sum($0, 2) }),
                let needed = CheckedSize.product(count, perVector), needed <= bytes.count - position
            else {
                throw FileFormatError(
                    "\(path): the header promises \(count) vectors of \(dimensions) values, more than its \(bytes.count) bytes can hold; the file is truncated or corrupt")
            }
            var words: [String] = []
            var values: [Float] = []
            words.reserveCapacity(count)
            values.reserveCapacity(count * dimensions)
            for row in 0..<count {
                switch format {
                case .text:
                    guard let text = line() else {
                        throw FileFormatError("\(path) is truncated: \(row) of \(count) vectors")
                    }
                    let fields = text.split(separator: " ", omittingEmptySubsequences: true)
                    guard fields.count == dimensions + 1 else {
                        throw FileFormatError("\(path): line \(row + 2) has \(fields.count - 1) values, not \(dimensions); the file is malformed")
                    }
                    words.append(String(fields[0]))
                    for field in fields.dropFirst() {
                        guard let value = Float(field), value.isFinite else {
                            throw FileFormatError("\(path): line \(row + 2) has a value that is not a finite number: \(field)")
                        }
                        values.append(value)
                    }
                case .binary:
                    while position < bytes.count && (bytes[position] == 0x0A || bytes[position] == 0x20) { position += 1 }
                    let start = position
                    while position < bytes.count && bytes[position] != 0x20 { position += 1 }
                    guard position < bytes.count, position - start <= 10_000 else {
                        throw FileFormatError("\(path) is truncated or not a binary word2vec file (vector \(row + 1) of \(count))")
                    }
                    words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
                    position += 1
                    guard position + 4 * dimensions <= bytes.count else {
                        throw FileFormatError("\(path) is truncated: vector \(row + 1) of \(count) is incomplete")
                    }
                    for k in 0..<dimensions {
                        let value = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position + 4 * k, as: UInt32.self)))
                        guard value.isFinite else {
                            throw FileFormatError("\(path): vector \(row + 1) ('\(words[row])') holds \(value); the file is corrupt")
                        }
                        values.append(value)
                    }
                    position += 4 * dimensions
                }
            }
            return WordVectors(words: words, dimensions: dimensions, values: values)
        }
    }
}
