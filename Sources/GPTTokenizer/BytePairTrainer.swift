import Foundation

/// Trains a byte-level BPE: cut the text with GPT-2's pre-tokenizer, count the distinct
/// pieces, then repeatedly merge the most frequent adjacent pair of tokens (weighted by
/// piece counts) until the vocabulary is full. Ties go to the smallest (left id, right id);
/// byte b has id b and the k-th merge makes id 256 + k, so the result is deterministic.
public enum BytePairTrainer {
    /// The largest vocabulary this trainer makes (ids must fit the uint32 token files with room to spare).
    public static let maximumVocabularySize = 1_000_000

    /// Trains on `texts` to `vocabularySize` tokens, special tokens included (they take the last ids).
    /// Stops early, with fewer tokens, when no pair of tokens occurs any more.
    public static func train(
        texts: [String], vocabularySize: Int, specialTokens: [String] = []
    ) throws -> BytePairTokenizer {
        let minimum = 256 + specialTokens.count
        guard vocabularySize >= minimum, vocabularySize <= maximumVocabularySize else {
            throw TokenizerError(
                "--vocab-size must be between \(minimum) (256 bytes + \(specialTokens.count) special tokens) and \(maximumVocabularySize) (got \(vocabularySize))")
        }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains(where: \.isEmpty) else {
            throw TokenizerError("special tokens must be distinct and non-empty")
        }
        var words = WordCounts()
        for text in texts { words.add(text) }
        let merges = words.learnMerges(count: vocabularySize - minimum)

        // Assemble the vocabulary: bytes, then merges, then special tokens.
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        for (left, right) in merges { tokenBytes.append(tokenBytes[left] + tokenBytes[right]) }
        var vocabulary: [String: Int] = [:]
        for (id, bytes) in tokenBytes.enumerated() { vocabulary[ByteLevel.string(for: bytes)] = id }
        var special: [String: Int] = [:]
        for (index, name) in specialTokens.enumerated() { special[name] = tokenBytes.count + index }
        let mergeStrings = merges.map { (ByteLevel.string(for: tokenBytes[$0.0]), ByteLevel.string(for: tokenBytes[$0.1])) }
        return try BytePairTokenizer(
            vocabulary: vocabulary, merges: mergeStrings, specialTokens: special, source: "trained BPE")
    }
}

/// Distinct pre-tokenized pieces with their counts, as sequences of token ids.
struct WordCounts {
    private var index = ByteSequenceTable(capacity: 1 << 16)
    private(set) var pieces: [[UInt8]] = []
    private(set) var counts: [Int] = []

    mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            PreTokenizer.forEachPiece(in: bytes) { range in
                let piece = UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
                if let slot = index.value(for: piece) {
                    counts[Int(slot)] += 1
                } else {
                    index.set(piece, Int32(pieces.count))
                    pieces.append(Array(piece))
                    counts.append(1)
                }
            }
        }
    }

    /// Learns up to `count` merges, as (left id, right id) pairs in order.
    func learnMerges(count target: Int) -> [(Int, Int)] {
        // Each word's tokens live in `tokens[starts[w] ..< starts[w] + lengths[w]]`.
        var tokens: [Int32] = []
        var starts: [Int] = []
        var lengths: [Int] = []
        for piece in pieces {
            starts.append(tokens.count)
            lengths.append(piece.count)
            for byte in piece { tokens.append(Int32(byte)) }
        }
        @inline(__always) func key(_ left: Int32, _ right: Int32) -> UInt64 {
            UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        }
        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        for word in pieces.indices {
            let start = starts[word]
            for position in start..<(start + lengths[word] - 1) {
                let pair = key(tokens[position], tokens[position + 1])
                pairCounts[pair, default: 0] += counts[word]
                pairWords[pair, default: []].append(Int32(word))
            }
        }
        var heap = PairHeap()
        for (pair, count) in pairCounts { heap.push(count: count, pair: pair) }
        var merges: [(Int, Int)] = []
        var visited = [Int](repeating: -1, count: pieces.count)
        var delta: [UInt64: Int] = [:]
        var scratch: [Int32] = []
        while merges.count < target, let top = heap.pop() {
            let current = pairCounts[top.pair] ?? 0
            if current != top.count {
                if current > 0 { heap.push(count: current, pair: top.pair) }
                continue
            }
            if current <= 0 { break }
            let left = Int32(truncatingIfNeeded: top.pair >> 32)
            let right = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let merged = Int32(256 + merges.count)
            merges.append((Int(left), Int(right)))
            delta.removeAll(keepingCapacity: true)
            for word in pairWords[top.pair] ?? [] {
                let w = Int(word)
                if visited[w] == merges.count { continue }
                visited[w] = merges.count
                let start = starts[w]
                let length = lengths[w]
                // Rewrite the word, then account for every pair it lost and gained.
                scratch.removeAll(keepingCapacity: true)
                var position = start
                var changed = false
                while position < start + length {
                    if position + 1 < start + length && tokens[position] == left && tokens[position + 1] == right {
                        scratch.append(merged)
                        position += 2
                        changed = true
                    } else {
                        scratch.append(tokens[position])
                        position += 1
                    }
                }
                guard changed else { continue }
                let weight = counts[w]
                for position in start..<(start + length - 1) {
                    delta[key(tokens[position], tokens[position + 1]), default: 0] -= weight
                }
                for position in 0..<(scratch.count - 1) {
                    let pair = key(scratch[position], scratch[position + 1])
                    delta[pair, default: 0] += weight
                    if scratch[position] == merged || scratch[position + 1] == merged {
                        pairWords[pair, default: []].append(word)
                    }
                }
                for (offset, token) in scratch.enumerated() { tokens[start + offset] = token }
                lengths[w] = scratch.count
            }
            for (pair, change) in delta where change != 0 {
                let updated = (pairCounts[pair] ?? 0) + change
                pairCounts[pair] = updated > 0 ? updated : nil
                if change > 0 { heap.push(count: updated, pair: pair) }
            }
            pairWords[top.pair] = nil
        }
        return merges
    }
}

/// A binary max-heap of (count, pair): highest count first, then the smallest pair.
struct PairHeap {
    private var entries: [(count: Int, pair: UInt64)] = []

    @inline(__always)
    private func before(_ a: (count: Int, pair: UInt64), _ b: (count: Int, pair: UInt64)) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }

    mutating func push(count: Int, pair: UInt64) {
        entries.append((count, pair))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard !entries.isEmpty else { return nil }
        let top = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var best = parent
                if left < entries.count && before(entries[left], entries[best]) { best = left }
                if right < entries.count && before(entries[right], entries[best]) { best = right }
                if best == parent { break }
                entries.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
