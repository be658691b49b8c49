import ArgumentParser
import Foundation
import GPTModel
import GPTTokenizer

/// Resolves `--tokenizer char|word|bpe|FILE|DIR`: the kinds trained from text, or a saved tokenizer.
enum TokenizerLoader {
    /// The tokenizers `--tokenizer` builds from the training text instead of loading.
    static let trainedKinds = ["char", "word", "bpe"]

    /// `--tokenizer NAME`: trained from `texts` for char, word (default 10,000 tokens) and bpe
    /// (default 1,024, with `<|endoftext|>`), else loaded from a file or directory.
    static func make(_ name: String, vocabularySize: Int?, texts: [String]) throws -> any Tokenizer {
        switch name {
        case "char":
            if let vocabularySize {
                throw ValidationError("--vocab-size \(vocabularySize) applies to --tokenizer word|bpe; char takes every character of the text")
            }
            return CharacterTokenizer(training: texts.joined())
        case "word":
            return try WordTokenizer(training: texts, vocabularySize: vocabularySize ?? 10_000)
        case "bpe":
            return try BytePairTrainer.train(texts: texts, vocabularySize: vocabularySize ?? 1024, specialTokens: ["<|endoftext|>"])
        default:
            if vocabularySize != nil {
                throw ValidationError("--vocab-size applies to --tokenizer word|bpe; \(name) has its own vocabulary")
            }
            return try loadAny(name)
        }
    }

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

/// How a command uses the model it loads.
enum ModelUse {
    /// Products only (sample, eval, info, bench): a GGUF's matrices stay in their stored types.
    case inference
    /// Every weight as a Float32 (pictures): a GGUF is dequantized.
    case dense
    /// Training from it: a GGUF is refused (export it to a directory first).
    case training
}

/// A model (a directory, or a `.gguf` file) and the tokenizer to use with it: `--tokenizer` if
/// given, else the model's.
func loadModelAndTokenizer(model path: String, tokenizer override: String?, use: ModelUse = .inference) throws -> (GPT, any Tokenizer) {
    let model: GPT
    var saved: (any Tokenizer)?
    if GGUFModel.isGGUF(path) {
        switch use {
        case .training:
            throw ValidationError(
                "\(path) is a GGUF file; training starts from a model directory: write one with `gpt export --model \(path) --out DIR` (weights dequantized to Float32)")
        case .inference: (model, saved) = try GGUFModel.load(URL(fileURLWithPath: path))
        case .dense: (model, saved) = try GGUFModel.loadDense(URL(fileURLWithPath: path))
        }
    } else {
        let directory = URL(fileURLWithPath: path)
        model = try ModelDirectory.loadModel(directory)
        saved = try override == nil ? TokenizerFiles.load(in: directory) : nil
    }
    guard let tokenizer = try override.map(TokenizerLoader.loadAny) ?? saved else {
        throw ValidationError(
            "\(path) has no tokenizer (\(TokenizerDescription.fileName), or vocab.json + merges.txt); pass --tokenizer FILE|DIR")
    }
    guard tokenizer.vocabularySize <= model.configuration.vocabularySize else {
        throw ValidationError(
            "the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(model.configuration.vocabularySize); they do not belong together")
    }
    return (model, tokenizer)
}
