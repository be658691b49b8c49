import Foundation

/// A tokenizer as stored in a model directory (`gpt-tokenizer.json`, named so that it never collides with a Hugging Face `tokenizer.json`).
///
/// `{"type": "character", "vocabulary": ["\n", " ", "!", …]}` — the list position is the id.
public enum TokenizerDescription: Equatable, Sendable {
    case character([String])

    public static let fileName = "gpt-tokenizer.json"

    /// The working tokenizer this description stands for.
    public func makeTokenizer() -> any Tokenizer {
        switch self {
        case .character(let symbols):
            CharacterTokenizer(scalars: symbols.compactMap { $0.unicodeScalars.first })
        }
    }

    public func encoded() throws -> Data {
        switch self {
        case .character(let symbols):
            let object: [String: Any] = ["type": "character", "vocabulary": symbols]
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
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
        default:
            throw TokenizerError("\(source): unknown tokenizer type \"\(type)\"")
        }
    }
}
