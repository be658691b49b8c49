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

    /// Any tokenizer: a directory (a model's, or GPT-2's files) or a tokenizer file.
    static func loadAny(_ path: String) throws -> any Tokenizer {
        try TokenizerFiles.load(path)
    }
}

/// A model directory and the tokenizer to use with it: `--tokenizer` if given, else the model's.
func loadModelAndTokenizer(model path: String, tokenizer override: String?) throws -> (GPT, any Tokenizer) {
    let directory = URL(fileURLWithPath: path)
    let model = try ModelDirectory.loadModel(directory)
    guard let tokenizer = try override.map(TokenizerLoader.loadAny) ?? TokenizerFiles.load(in: directory) else {
        throw ValidationError(
            "\(path) has no tokenizer (\(TokenizerDescription.fileName), or vocab.json + merges.txt); pass --tokenizer FILE|DIR")
    }
    guard tokenizer.vocabularySize <= model.configuration.vocabularySize else {
        throw ValidationError(
            "the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(model.configuration.vocabularySize); they do not belong together")
    }
    return (model, tokenizer)
}
