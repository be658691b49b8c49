/// One token per Unicode scalar. The vocabulary is the set of scalars in the
/// training text sorted by code point (as nanoGPT's shakespeare_char).
public struct CharacterTokenizer: Tokenizer, Equatable {
    public let scalars: [Unicode.Scalar]
    private let index: [Unicode.Scalar: Int]

    public init(scalars: [Unicode.Scalar]) {
        let sorted = Array(Set(scalars)).sorted { $0.value < $1.value }
        self.scalars = sorted
        var index: [Unicode.Scalar: Int] = [:]
        for (id, scalar) in sorted.enumerated() { index[scalar] = id }
        self.index = index
    }

    /// The vocabulary of `text`: every distinct scalar, sorted by code point.
    public init(training text: String) {
        self.init(scalars: Array(Set(text.unicodeScalars)))
    }

    public static func == (left: CharacterTokenizer, right: CharacterTokenizer) -> Bool {
        left.scalars == right.scalars
    }

    public var vocabularySize: Int { scalars.count }
    public var kind: String { "character (\(scalars.count) symbols)" }
    public var endOfTextToken: Int? { nil }

    /// A newline if the vocabulary has one (as nanoGPT starts unconditional samples), else id 0.
    public var startToken: Int { index["\n"] ?? 0 }

    public func encode(_ text: String) throws -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let id = index[scalar] else { throw unknownCharacters(in: text) }
            tokens.append(id)
        }
        return tokens
    }

    /// The error for text with characters outside the vocabulary: all of them, most frequent first, with counts.
    private func unknownCharacters(in text: String) -> TokenizerError {
        var counts: [Unicode.Scalar: Int] = [:]
        for scalar in text.unicodeScalars where index[scalar] == nil { counts[scalar, default: 0] += 1 }
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
        let shown = sorted.prefix(20).map { "\(Self.describe($0.key)) ×\($0.value)" }.joined(separator: ", ")
        let more = sorted.count > 20 ? " and \(sorted.count - 20) more" : ""
        let subject = sorted.count == 1 ? "1 character is" : "\(sorted.count) characters are"
        return TokenizerError(
            "\(subject) not in the model's vocabulary of \(scalars.count) characters: \(shown)\(more); remove \(sorted.count == 1 ? "it" : "them") or train on text that contains \(sorted.count == 1 ? "it" : "them")")
    }

    public func decodeBytes(_ tokens: [Int]) -> [UInt8] {
        var text = String.UnicodeScalarView()
        for token in tokens where token >= 0 && token < scalars.count {
            text.append(scalars[token])
        }
        return Array(String(text).utf8)
    }

    public var description: TokenizerDescription {
        .character(scalars.map { String($0) })
    }

    /// "'x' (U+0078)", with invisible characters shown by code point only.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let code = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
        if scalar.properties.isWhitespace || scalar.properties.generalCategory == .control {
            return code
        }
        return "'\(Character(scalar))' (\(code))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
