import Foundation
import GPTFormats
import GPTTokenizer

/// A text corpus tokenized once into a token file and reused while the text and the
/// tokenizer are unchanged (the file is named by the SHA-256 of both).
public struct TokenizedCorpus: Sendable {
    public let tokens: TokenSequence
    /// The token file the tokens are mapped from.
    public let file: URL
    /// Whether an existing token file was reused.
    public let reused: Bool
    /// SHA-256 of the text (hex), which names its token file.
    public let textHash: String
    /// Why a cached token file was not reused but rebuilt (corrupt, altered, an older version), if one was there.
    public let rebuilt: String?

    /// Tokenizes `text` (or reuses its token file) in `cacheDirectory`, falling back to
    /// `fallbackDirectory` when the cache cannot be written.
    public static func load(
        text: String, tokenizer: any Tokenizer, specialTokens: SpecialTokenPolicy, threads: Int,
        cacheDirectory: URL, fallbackDirectory: URL
    ) throws -> TokenizedCorpus {
        let textHash = Array(text.utf8).withUnsafeBytes { SHA256.hex($0) }
        var description = try tokenizer.description.encoded()
        description.append(contentsOf: Array("|special=\(specialTokens)".utf8))
        let tokenizerHash = description.withUnsafeBytes { SHA256.hex($0) }
        var rebuilt: String?
        for directory in [cacheDirectory, fallbackDirectory] {
            let url = TokenCache.file(textHash: textHash, tokenizerHash: tokenizerHash, in: directory)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do {
                let file = try TokenFile(contentsOf: url, vocabularySize: tokenizer.vocabularySize)
                guard file.version == 2 else {
                    rebuilt = "\(url.path) is a version-1 token file without a checksum"
                    continue
                }
                guard file.textHash == textHash, file.tokenizerHash == tokenizerHash, file.vocabularySize == tokenizer.vocabularySize
                else {
                    rebuilt = "\(url.path) was made from another text or tokenizer"
                    continue
                }
                return TokenizedCorpus(tokens: file.tokens, file: url, reused: true, textHash: textHash, rebuilt: nil)
            } catch {
                rebuilt = "\(error)"
            }
        }
        let ids = try tokenizer.encode(text, specialTokens: specialTokens, threads: threads)
        var lastError: Error?
        for directory in [cacheDirectory, fallbackDirectory] {
            let url = TokenCache.file(textHash: textHash, tokenizerHash: tokenizerHash, in: directory)
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try TokenFile.write(
                    ids, vocabularySize: tokenizer.vocabularySize, textHash: textHash, tokenizerHash: tokenizerHash, to: url)
                return TokenizedCorpus(
                    tokens: try TokenFile(contentsOf: url).tokens, file: url, reused: false, textHash: textHash, rebuilt: rebuilt)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? FileFormatError("cannot write a token file")
    }
}
