import Foundation

/// A tokenizer as stored in a model directory (`gpt-tokenizer.json`, named so that it never collides with a Hugging Face `tokenizer.json`).
///
/// `{"type": "character", "vocabulary": ["\n", " ", "!", …]}` — the list position is the id.
public enum TokenizerDescription: Equatable, Sendable {
    case character([String])
    /// Word-level: the words by id, after `<unk>` (id 0).
    case word([String])
    /// Byte-level BPE: token strings in GPT-2's printable form → id, merges as "left right", specials.
    case bytePair(vocabulary: [String: Int], merges: [String], specialTokens: [String: Int])

    public static let fileName = "gpt-tokenizer.json"

    /// The working tokenizer this description stands for.
    public func makeTokenizer() throws -> any Tokenizer {
        switch self {
        case .character(let symbols):
            return CharacterTokenizer(scalars: symbols.compactMap { $0.unicodeScalars.first })
        case .word(let words):
            return WordTokenizer(words: words)
        case .bytePair(let vocabulary, let merges, let specialTokens):
            let pairs = try GPT2Files.parseMerges(merges.joined(separator: "\n"), source: Self.fileName)
            return try BytePairTokenizer(
                vocabulary: vocabulary, merges: pairs, specialTokens: specialTokens, source: Self.fileName)
        }
    }

    public func encoded() throws -> Data {
        let object: [String: Any]
        switch self {
        case .character(let symbols):
            object = ["type": "character", "vocabulary": symbols]
        case .word(let words):
            object = ["type": "word", "vocabulary": words]
        case .bytePair(let vocabulary, let merges, let specialTokens):
            object = ["type": "bpe", "vocabulary": vocabulary, "merges": merges, "special_tokens": specialTokens]
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Parses a `tokenizer.json`; `source` names the file in error messages.
    public init(data: Data, source: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let type = object["type"] as? String
        else {
            throw TokenizerError("\(source) is not a valid tokenizer file (expected a JSON object with a \"type\")")
        }
        switch type {
        case "character":
            guard let symbols = object["vocabulary"] as? [String], !symbols.isEmpty,
                symbols.allSatisfy({ $0.unicodeScalars.count == 1 }),
                Set(symbols).count == symbols.count
            else {
                throw TokenizerError("\(source): a character tokenizer needs \"vocabulary\": a list of distinct single characters")
            }
            self = .character(symbols)
        case "word":
            guard let words = object["vocabulary"] as? [String], Set(words).count == words.count else {
                throw TokenizerError("\(source): a word tokenizer needs \"vocabulary\": a list of distinct words")
            }
            self = .word(words)
        case "bpe":
            guard let vocabulary = object["vocabulary"] as? [String: Any], let merges = object["merges"] as? [String]
            else {
                throw TokenizerError("\(source): a BPE tokenizer needs \"vocabulary\" (token → id) and \"merges\"")
            }
            let special = (object["special_tokens"] as? [String: Any]) ?? [:]
            func ids(_ map: [String: Any]) throws -> [String: Int] {
                try map.mapValues {
                    guard let id = ($0 as? NSNumber)?.intValue else {
                        throw TokenizerError("\(source): token ids must be integers")
                    }
                    return id
                }
            }
            self = .bytePair(vocabulary: try ids(vocabulary), merges: merges, specialTokens: try ids(special))
        default:
            throw TokenizerError("\(source): unknown tokenizer type \"\(type)\"")
        }
    }
}
