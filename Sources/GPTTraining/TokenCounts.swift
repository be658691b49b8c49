import Foundation
import GPTFormats

/// How often each token occurs in a model's training data (`token_counts.json` in the model
/// directory), so pictures can show the most frequent tokens.
public enum TokenCounts {
    public static let fileName = "token_counts.json"

    public static func write(_ tokens: TokenSequence, vocabularySize: Int, to directory: URL) throws {
        var counts = [Int](repeating: 0, count: vocabularySize)
        var chunk: [Int32] = []
        var start = 0
        while start < tokens.count {
            chunk.removeAll(keepingCapacity: true)
            tokens.append(start..<min(start + 65_536, tokens.count), to: &chunk)
            for token in chunk where Int(token) < vocabularySize { counts[Int(token)] += 1 }
            start += 65_536
        }
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: ["counts": counts]), to: directory.appendingPathComponent(fileName))
    }

    /// The `count` most frequent token ids, or nil when the directory has no counts.
    public static func mostFrequent(in directory: URL, count: Int) -> [Int]? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(fileName).path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let counts = object["counts"] as? [Int]
        else { return nil }
        return counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }.prefix(count).map { $0 }
    }
}
