import Foundation
import GPTFormats

/// How raw text becomes words before word2vec sees it.
public enum TextNormalization: String, CaseIterable, Sendable {
    /// Lower-cased; a word is a run of ASCII letters `[a-z]+`; everything else separates words
    /// (what the gensim comparison uses).
    case lowerLetters = "lower-letters"
    /// Lower-cased; words are separated by whitespace, punctuation kept.
    case lowerWhitespace = "lower-whitespace"
    /// As written; words are separated by whitespace.
    case whitespace
}

/// A corpus for word2vec: every line is a sentence (context windows never cross line ends; a
/// line of more than `maximumSentenceLength` kept words is cut into sentences of that length, as
/// gensim does), words are counted, and the words seen at least `minCount` times get ids by
/// descending count.
public struct Word2VecCorpus: Sendable {
    /// The longest sentence the training kernel takes (word2vec.c's and gensim's 10,000).
    public static let maximumSentenceLength = 10_000

    /// Vocabulary: words by id, most frequent first (ties in byte order).
    public let words: [String]
    public let counts: [Int]
    /// Every kept sentence's word ids, back to back; sentence s is ids[starts[s] ..< starts[s + 1]].
    public let ids: [Int32]
    public let starts: [Int64]
    /// Words in the text before dropping rare ones.
    public let rawWordCount: Int

    public var sentenceCount: Int { starts.count - 1 }
    public var wordCount: Int { ids.count }

    /// Reads a file, or every `.txt` file of a directory in name order.
    public static func load(path: String, normalization: TextNormalization, minCount: Int) throws -> Word2VecCorpus {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileFormatError("corpus \(path) not found; give a text file or a directory of .txt files")
        }
        var files = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".txt") }.sorted().map { (path as NSString).appendingPathComponent($0) }
            guard !files.isEmpty else { throw FileFormatError("\(path) holds no .txt files") }
        }
        var texts: [String] = []
        for file in files { texts.append(try TextFile.read(file)) }
        return try Word2VecCorpus(texts: texts, normalization: normalization, minCount: minCount, source: path)
    }

    public init(texts: [String], normalization: TextNormalization, minCount: Int, source: String = "the corpus") throws {
        guard minCount >= 1 else { throw FileFormatError("--min-count must be at least 1 (got \(minCount))") }
        // Pass 1: split into sentences of words and count them.
        var index: [String: Int32] = [:]
        var names: [String] = []
        var frequency: [Int] = []
        var raw: [Int32] = []
        var rawStarts: [Int64] = [0]
        for text in texts {
            Self.forEachSentence(in: text, normalization: normalization) { sentence in
                for word in sentence {
                    if let id = index[word] {
                        frequency[Int(id)] += 1
                        raw.append(id)
                    } else {
                        let id = Int32(names.count)
                        index[word] = id
                        names.append(word)
                        frequency.append(1)
                        raw.append(id)
                    }
                }
                if Int64(raw.count) > rawStarts.last! { rawStarts.append(Int64(raw.count)) }
            }
        }
        guard !raw.isEmpty else { throw FileFormatError("\(source) has no words (after \(normalization.rawValue) normalisation)") }
        // Keep words seen minCount times, most frequent first.
        let kept = names.indices.filter { frequency[$0] >= minCount }.sorted {
            frequency[$0] != frequency[$1] ? frequency[$0] > frequency[$1] : names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8)
        }
        guard !kept.isEmpty else {
            throw FileFormatError("no word occurs \(minCount) times in \(source); lower --min-count")
        }
        var remap = [Int32](repeating: -1, count: names.count)
        for (newId, oldId) in kept.enumerated() { remap[oldId] = Int32(newId) }
        var ids: [Int32] = []
        ids.reserveCapacity(raw.count)
        var starts: [Int64] = [0]
        for s in 0..<(rawStarts.count - 1) {
            for k in Int(rawStarts[s])..<Int(rawStarts[s + 1]) where remap[Int(raw[k])] >= 0 {
                ids.append(remap[Int(raw[k])])
                if ids.count - Int(starts.last!) == Self.maximumSentenceLength { starts.append(Int64(ids.count)) }
            }
            if Int64(ids.count) > starts.last! { starts.append(Int64(ids.count)) }
        }
        words = kept.map { names[$0] }
        counts = kept.map { frequency[$0] }
        self.ids = ids
        self.starts = starts
        rawWordCount = raw.count
    }

    /// Calls `body` with the words of each line.
    static func forEachSentence(in text: String, normalization: TextNormalization, _ body: ([String]) -> Void) {
        var text = text
        text.withUTF8 { bytes in
            var sentence: [String] = []
            var word: [UInt8] = []
            func endWord() {
                if !word.isEmpty {
                    sentence.append(String(decoding: word, as: UTF8.self))
                    word.removeAll(keepingCapacity: true)
                }
            }
            for byte in bytes {
                if byte == 0x0A {
                    endWord()
                    if !sentence.isEmpty { body(sentence) }
                    sentence.removeAll(keepingCapacity: true)
                    continue
                }
                switch normalization {
                case .lowerLetters:
                    if byte >= 0x61 && byte <= 0x7A { word.append(byte) }
                    else if byte >= 0x41 && byte <= 0x5A { word.append(byte + 32) }
                    else { endWord() }
                case .lowerWhitespace, .whitespace:
                    if byte == 0x20 || byte == 0x09 || byte == 0x0D { endWord() }
                    else { word.append(normalization == .lowerWhitespace && byte >= 0x41 && byte <= 0x5A ? byte + 32 : byte) }
                }
            }
            endWord()
            if !sentence.isEmpty { body(sentence) }
        }
    }
}
