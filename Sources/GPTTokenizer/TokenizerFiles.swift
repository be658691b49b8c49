import Foundation

/// The one way every command finds a tokenizer on disk.
///
/// A directory is searched in one order: our own tokenizer file (`gpt-tokenizer.json`, what a model
/// trained here saves, so it names the exact tokenizer the model was trained with), then GPT-2's
/// vocabulary files (`encoder.json` + `vocab.bpe`, or Hugging Face's `vocab.json` + `merges.txt`).
/// A file is read as our tokenizer file.
public enum TokenizerFiles {
    /// The tokenizer at `path` (a directory or a file).
    public static func load(_ path: String) throws -> any Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError("tokenizer \(path) not found; give a tokenizer file or a directory with one")
        }
        let url = URL(fileURLWithPath: path)
        guard isDirectory.boolValue else { return try loadFile(url) }
        if let tokenizer = try load(in: url) { return tokenizer }
        throw TokenizerError(
            "\(path) has no tokenizer: expected \(TokenizerDescription.fileName), encoder.json + vocab.bpe, or vocab.json + merges.txt")
    }

    /// The tokenizer in `directory`, or nil when it holds none.
    public static func load(in directory: URL) throws -> (any Tokenizer)? {
        let file = directory.appendingPathComponent(TokenizerDescription.fileName)
        if FileManager.default.fileExists(atPath: file.path) { return try loadFile(file) }
        if GPT2Files.locate(in: directory) != nil { return try GPT2Files.load(from: directory) }
        return nil
    }

    /// Our tokenizer file.
    public static func loadFile(_ url: URL) throws -> any Tokenizer {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TokenizerError("cannot read tokenizer file \(url.path)")
        }
        return try TokenizerDescription(data: data, source: url.path).makeTokenizer()
    }
}
