import ArgumentParser
import Foundation
import GPTModel
import GPTTokenizer

/// Resolves `--tokenizer FILE|DIR` for the commands that take an existing tokenizer.
enum TokenizerLoader {
    /// A byte-level BPE from a GPT-2 / Hugging Face vocabulary directory or a tokenizer file.
    static func load(_ path: String) throws -> BytePairTokenizer {
        let tokenizer = try loadAny(path)
        guard let bytePair = tokenizer as? BytePairTokenizer else {
            throw TokenizerError("\(path) holds a \(tokenizer.kind) tokenizer; this command needs a byte-level BPE")
        }
        return bytePair
    }

    /// Any tokenizer: a directory with GPT-2's files or a model, or a tokenizer file.
    static func loadAny(_ path: String) throws -> any Tokenizer {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError("tokenizer \(path) not found; give a tokenizer file or a directory with GPT-2's vocabulary files")
        }
        if isDirectory.boolValue {
            if GPT2Files.locate(in: url) != nil { return try GPT2Files.load(from: url) }
            let file = url.appendingPathComponent(TokenizerDescription.fileName)
            if FileManager.default.fileExists(atPath: file.path) { return try loadFile(file) }
            throw TokenizerError(
                "\(path) has no tokenizer: expected encoder.json + vocab.bpe, vocab.json + merges.txt, or \(TokenizerDescription.fileName)")
        }
        return try loadFile(url)
    }

    static func loadFile(_ url: URL) throws -> any Tokenizer {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TokenizerError("cannot read tokenizer file \(url.path)")
        }
        return try TokenizerDescription(data: data, source: url.path).makeTokenizer()
    }
}

/// A model directory and the tokenizer to use with it: `--tokenizer` if given, else the model's.
func loadModelAndTokenizer(model path: String, tokenizer override: String?) throws -> (GPTModel, any Tokenizer) {
    let directory = URL(fileURLWithPath: path)
    let model = try ModelDirectory.loadModel(directory)
    let tokenizer = try override.map(TokenizerLoader.loadAny) ?? ModelDirectory.loadTokenizer(directory)
    guard tokenizer.vocabularySize <= model.configuration.vocabularySize else {
        throw ValidationError(
            "the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(model.configuration.vocabularySize); they do not belong together")
    }
    return (model, tokenizer)
}
