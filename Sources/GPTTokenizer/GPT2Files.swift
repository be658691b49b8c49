import Foundation
import GPTTensor

/// GPT-2's vocabulary files: `encoder.json` (byte-level token string → id) and `vocab.bpe`
/// (a `#version` line, then one merge "left right" per line, in learned order) — called
/// `vocab.json` and `merges.txt` in a Hugging Face model directory. Both namings are read.
public enum GPT2Files {
    /// The (vocabulary, merges) file pair in `directory`, or nil if it has neither naming.
    public static func locate(in directory: URL) -> (vocabulary: URL, merges: URL)? {
        for (vocabulary, merges) in [("encoder.json", "vocab.bpe"), ("vocab.json", "merges.txt")] {
            let v = directory.appendingPathComponent(vocabulary)
            let m = directory.appendingPathComponent(merges)
            if FileManager.default.fileExists(atPath: v.path) && FileManager.default.fileExists(atPath: m.path) {
                return (v, m)
            }
        }
        return nil
    }

    /// Loads the byte-level BPE in `directory`. `<|endoftext|>` (and any other `<|…|>` entry)
    /// becomes a special token, recognised only when a call allows it.
    public static func load(from directory: URL) throws -> BytePairTokenizer {
        guard let (vocabularyURL, mergesURL) = locate(in: directory) else {
            throw TokenizerError(
                "\(directory.path) has no GPT-2 vocabulary: expected encoder.json + vocab.bpe or vocab.json + merges.txt")
        }
        guard let vocabularyData = FileManager.default.contents(atPath: vocabularyURL.path) else {
            throw TokenizerError("\(vocabularyURL.path) is unreadable")
        }
        guard let mergesData = FileManager.default.contents(atPath: mergesURL.path) else {
            throw TokenizerError("\(mergesURL.path) is unreadable")
        }
        return try load(
            vocabulary: vocabularyData, merges: mergesData, vocabularySource: vocabularyURL.path, mergesSource: mergesURL.path,
            source: "\(vocabularyURL.lastPathComponent) + \(mergesURL.lastPathComponent) in \(directory.path)")
    }

    /// The byte-level BPE of a vocabulary (JSON: token → id) and merges text; the sources name them in errors.
    public static func load(
        vocabulary vocabularyData: Data, merges mergesData: Data, vocabularySource: String, mergesSource: String, source: String
    ) throws -> BytePairTokenizer {
        guard JSONInput.isShallow(vocabularyData),
            let object = try? JSONSerialization.jsonObject(with: vocabularyData) as? [String: Any]
        else {
            throw TokenizerError("\(vocabularySource) is not a JSON object of token → id; the file is corrupt")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let id = CheckedSize.integer(value) else {
                throw TokenizerError("\(vocabularySource): token \(token.debugDescription) has a non-integer id")
            }
            vocabulary[token] = id
        }
        guard let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw TokenizerError("\(mergesSource) is not UTF-8")
        }
        let merges = try parseMerges(mergesText, source: mergesSource)
        var special: [String: Int] = [:]
        for (token, id) in vocabulary where token.hasPrefix("<|") && token.hasSuffix("|>") && token.count > 4 {
            special[token] = id
        }
        return try BytePairTokenizer(vocabulary: vocabulary, merges: merges, specialTokens: special, source: source)
    }

    /// Parses `vocab.bpe` / `merges.txt` text: an optional `#version` line, then "left right" lines.
    public static func parseMerges(_ text: String, source: String) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (number == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError("\(source): line \(number + 1) is not a merge \"left right\": \(String(line.prefix(40)).debugDescription)")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// Writes `tokenizer` as `encoder.json` + `vocab.bpe` into `directory` (GPT-2 tooling reads them).
    public static func export(_ tokenizer: BytePairTokenizer, to directory: URL) throws -> (URL, URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let vocabularyURL = directory.appendingPathComponent("encoder.json")
        let mergesURL = directory.appendingPathComponent("vocab.bpe")
        let data = try JSONSerialization.data(withJSONObject: tokenizer.encoderJSON, options: [.sortedKeys])
        try data.write(to: vocabularyURL, options: .atomic)
        let lines = ["#version: 0.2"] + tokenizer.mergeLines
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: mergesURL, options: .atomic)
        return (vocabularyURL, mergesURL)
    }
}
