/// Turns text into token ids and back.
///
/// Text is ordinary by default: special tokens are not recognised in it. A
/// tokenizer decodes to bytes so that byte-level tokenizers can return partial
/// UTF-8 sequences; `decode(_:)` gives text (invalid UTF-8 replaced with U+FFFD).
public protocol Tokenizer: Sendable {
    /// The number of distinct token ids (ids are 0..<vocabularySize).
    var vocabularySize: Int { get }
    /// A short name for the kind of tokenizer, shown by `gpt info`.
    var kind: String { get }
    /// The end-of-text token, if the tokenizer has one.
    var endOfTextToken: Int? { get }
    /// The token generation starts from when there is no prompt.
    var startToken: Int { get }
    /// Encodes `text`; throws `TokenizerError` for text the vocabulary cannot represent.
    /// Special-token strings are ordinary text.
    func encode(_ text: String) throws -> [Int]
    /// Encodes `text` with a special-token policy, splitting long text across `threads`.
    func encode(_ text: String, specialTokens: SpecialTokenPolicy, threads: Int) throws -> [Int]
    /// The bytes that `tokens` stand for.
    func decodeBytes(_ tokens: [Int]) -> [UInt8]
    /// The file form of this tokenizer, saved in a model directory.
    var description: TokenizerDescription { get }
}

extension Tokenizer {
    /// Tokenizers without special tokens or parallel encoding: every policy is plain encoding.
    public func encode(_ text: String, specialTokens: SpecialTokenPolicy, threads: Int) throws -> [Int] {
        try encode(text)
    }

    /// The text that `tokens` stand for.
    public func decode(_ tokens: [Int]) -> String {
        String(decoding: decodeBytes(tokens), as: UTF8.self)
    }
}

/// An encoding problem, phrased for the user.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
