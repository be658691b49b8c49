/// One token per word or punctuation mark: "Hello, world!" → ["Hello", ",", "world", "!"].
///
/// A word is a run of letters, digits and combining marks, with apostrophes and hyphens
/// allowed between letters ("don't", "well-known"); a newline is a token of its own; every
/// other visible character is a one-character token; spaces and tabs only separate tokens.
/// The vocabulary holds the most frequent tokens of the training text (ties: code-point
/// order) up to a cap, plus `<unk>` (id 0), which every other token maps to.
///
/// Decoding joins tokens with single spaces, except before closing punctuation and after
/// opening brackets and quotes, and around newlines — so text in that normal form round-trips.
public struct WordTokenizer: Tokenizer, Equatable {
    public static let unknown = "<unk>"
    /// Token strings by id; id 0 is `<unk>`.
    public let words: [String]
    private let index: [String: Int]

    public init(words: [String]) {
        var list = [Self.unknown]
        for word in words where word != Self.unknown { list.append(word) }
        self.words = list
        var index: [String: Int] = [:]
        for (id, word) in list.enumerated() { index[word] = id }
        self.index = index
    }

    /// The `vocabularySize − 1` most frequent tokens of `texts`, plus `<unk>`.
    public init(training texts: [String], vocabularySize: Int) throws {
        guard vocabularySize >= 2 else {
            throw TokenizerError("--vocab-size for a word tokenizer must be at least 2 (<unk> and one word); got \(vocabularySize)")
        }
        var counts: [String: Int] = [:]
        for text in texts {
            for word in Self.split(text) { counts[word, default: 0] += 1 }
        }
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        self.init(words: ranked.prefix(vocabularySize - 1).map(\.key))
    }

    public static func == (left: WordTokenizer, right: WordTokenizer) -> Bool { left.words == right.words }

    public var vocabularySize: Int { words.count }
    public var kind: String { "word (\(words.count) tokens)" }
    public var endOfTextToken: Int? { nil }
    public var startToken: Int { index["\n"] ?? 0 }

    /// Words never fail to encode: unknown ones become `<unk>`.
    public func encode(_ text: String) throws -> [Int] {
        Self.split(text).map { index[$0] ?? 0 }
    }

    public func decodeBytes(_ tokens: [Int]) -> [UInt8] {
        var text = ""
        var previous: String?
        for token in tokens where token >= 0 && token < words.count {
            let word = words[token]
            if let previous, Self.needsSpace(between: previous, and: word) { text += " " }
            text += word
            previous = word
        }
        return Array(text.utf8)
    }

    public var description: TokenizerDescription { .word(Array(words.dropFirst())) }

    /// The tokens of `text`, before vocabulary lookup.
    public static func split(_ text: String) -> [String] {
        var tokens: [String] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
                return true
            default:
                return false
            }
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                tokens.append("\n")
                index += 1
            } else if scalar.properties.isWhitespace {
                index += 1
            } else if isWordScalar(scalar) {
                var end = index + 1
                while end < scalars.count {
                    if isWordScalar(scalars[end]) {
                        end += 1
                    } else if (scalars[end] == "'" || scalars[end] == "-" || scalars[end] == "’"), end + 1 < scalars.count,
                        isWordScalar(scalars[end + 1])
                    {
                        end += 2
                    } else {
                        break
                    }
                }
                var word = String.UnicodeScalarView()
                word.append(contentsOf: scalars[index..<end])
                tokens.append(String(word))
                index = end
            } else {
                tokens.append(String(scalar))
                index += 1
            }
        }
        return tokens
    }

    static let closing: Set<String> = [",", ".", "!", "?", ";", ":", ")", "]", "}", "”", "’", "%"]
    static let opening: Set<String> = ["(", "[", "{", "“", "‘"]

    static func needsSpace(between previous: String, and next: String) -> Bool {
        !(previous == "\n" || next == "\n" || closing.contains(next) || opening.contains(previous))
    }
}
