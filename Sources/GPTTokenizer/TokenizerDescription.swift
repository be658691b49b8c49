import Foundation
import GPTTensor

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

    /// The file's fields. Read with `JSONDecoder`, which keeps every string exactly: Foundation's
    /// `JSONSerialization` drops a U+FEFF at the start of a string, which turned a character vocabulary's
    /// byte-order-mark entry into an empty one (issue 24).
    private struct File: Decodable {
        let type: String
        let vocabulary: Vocabulary?
        let merges: [String]?
        let specialTokens: [String: Int]?

        enum CodingKeys: String, CodingKey {
            case type, vocabulary, merges, specialTokens = "special_tokens"
        }

        /// A list (character, word) or a map of token → id (BPE).
        enum Vocabulary: Decodable {
            case list([String])
            case map([String: Int])

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let list = try? container.decode([String].self) {
                    self = .list(list)
                } else {
                    self = .map(try container.decode([String: Int].self))
                }
            }
        }
    }

    /// Parses a tokenizer file; `source` names the file in error messages.
    public init(data: Data, source: String) throws {
        guard JSONInput.isShallow(data) else {
            throw TokenizerError("\(source) nests JSON more than \(JSONInput.maximumDepth) levels deep; it is not a tokenizer file")
        }
        guard let file = try? JSONDecoder().decode(File.self, from: data) else {
            if (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["type"] is String {
                throw TokenizerError("\(source): the vocabulary, merges or special tokens are malformed (token ids must be integers)")
            }
            throw TokenizerError("\(source) is not a valid tokenizer file (expected a JSON object with a \"type\")")
        }
        switch (file.type, file.vocabulary) {
        case ("character", .list(let symbols)?) where !symbols.isEmpty:
            // Entries are Unicode scalars, compared by code point: canonically equivalent characters
            // (U+212B Å and U+00C5 Å), combining marks and U+FEFF are distinct entries of their own.
            var seen: [UInt32: Int] = [:]
            for (position, symbol) in symbols.enumerated() {
                let scalars = Array(symbol.unicodeScalars)
                guard scalars.count == 1 else {
                    throw TokenizerError(
                        "\(source): vocabulary entry \(position) holds \(scalars.count) characters (\(Self.codePoints(scalars))); each entry must be one")
                }
                if let first = seen.updateValue(position, forKey: scalars[0].value) {
                    throw TokenizerError(
                        "\(source): vocabulary entries \(first) and \(position) are both \(Self.codePoints(scalars)); entries must be distinct")
                }
            }
            self = .character(symbols)
        case ("character", _):
            throw TokenizerError("\(source): a character tokenizer needs \"vocabulary\": a list of distinct single characters")
        case ("word", .list(let words)?) where Set(words).count == words.count:
            // <unk> alone (or nothing) would map every text to one id: nothing to learn or say.
            guard words.filter({ $0 != "<unk>" }).count >= 1 else {
                throw TokenizerError("\(source): a word tokenizer needs at least one word besides <unk> in \"vocabulary\"")
            }
            self = .word(words)
        case ("word", _):
            throw TokenizerError("\(source): a word tokenizer needs \"vocabulary\": a list of distinct words")
        case ("bpe", .map(let vocabulary)?) where file.merges != nil:
            self = .bytePair(vocabulary: vocabulary, merges: file.merges!, specialTokens: file.specialTokens ?? [:])
        case ("bpe", _):
            throw TokenizerError("\(source): a BPE tokenizer needs \"vocabulary\" (token → id) and \"merges\"")
        default:
            throw TokenizerError("\(source): unknown tokenizer type \"\(file.type)\"")
        }
    }

    /// "U+FEFF U+0041".
    static func codePoints(_ scalars: [Unicode.Scalar]) -> String {
        scalars.isEmpty ? "nothing" : scalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
