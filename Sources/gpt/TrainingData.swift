import ArgumentParser
import Foundation
import GPTFormats
import GPTTokenizer
import GPTTraining

/// `--tokenizer` and `--vocab-size` for `gpt train` (fine-tuning and distillation keep the model's).
struct VocabularyOptions: ParsableArguments {
    @Option(help: "char | word | bpe (built from the training text), a tokenizer FILE, or a DIR with GPT-2's vocabulary files.")
    var tokenizer = "char"
    @Option(help: "Vocabulary size for --tokenizer word (default 10000) or bpe (default 1024); for token files, their vocabulary.")
    var vocabSize: Int?

    /// The tokenizer of a run without options of its own: trained characters, or the one given.
    static var standard: VocabularyOptions { try! VocabularyOptions.parse([]) }
}

/// `--data`, `--val-data`, `--allow-special`: the text (or token files) a run trains on.
struct DataOptions: ParsableArguments {
    @Option(help: "Training text (UTF-8), or a token file (.bin: nanoGPT or llm.c; .tokens: swift-gpt). Default: the embedded corpus.")
    var data: String?
    @Option(help: "Validation text or token file (default: the last 10% of --data).") var valData: String?
    @Flag(help: "Recognise special tokens such as <|endoftext|> in the text (default: they are ordinary text).")
    var allowSpecial = false

    /// What a checkpoint keeps to rebuild this run on resume (paths made absolute).
    func description(command: String, vocabularySize: Int, keepBest: Bool, log: String?) -> RunDescription {
        var run = RunDescription(command: command)
        run.data = data.map { URL(fileURLWithPath: $0).path }
        run.validationData = valData.map { URL(fileURLWithPath: $0).path }
        run.allowSpecial = allowSpecial
        run.vocabularySize = vocabularySize
        run.keepBest = keepBest
        run.log = log.map { URL(fileURLWithPath: $0).path }
        return run
    }

    /// The data and vocabulary options a checkpoint's run description stands for.
    static func restore(_ run: RunDescription) throws -> (DataOptions, VocabularyOptions) {
        var arguments: [String] = []
        if let data = run.data { arguments += ["--data", data] }
        if let valData = run.validationData { arguments += ["--val-data", valData] }
        if run.allowSpecial { arguments.append("--allow-special") }
        var vocabulary: [String] = []
        if let data = run.data, isTokenFile(data), let size = run.vocabularySize {
            vocabulary += ["--vocab-size", String(size)]
        }
        return (try DataOptions.parse(arguments), try VocabularyOptions.parse(vocabulary))
    }

    static func isTokenFile(_ path: String) -> Bool {
        ["bin", "tokens"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// The data set, the tokenizer to save with the model (nil for token files without
    /// --tokenizer), and a line describing the data for the user.
    /// `tokenizer`, when given, is used instead of building one (resume, fine-tuning, distillation).
    func prepare(
        outputDirectory: URL, threads: Int, vocabulary: VocabularyOptions = .standard, tokenizer given: (any Tokenizer)? = nil
    ) throws -> (TokenDataset, (any Tokenizer)?, vocabularySize: Int, String) {
        if let data, Self.isTokenFile(data) {
            return try prepareTokenFiles(data, vocabulary: vocabulary, tokenizer: given)
        }
        let text = try data.map { try TextFile.read($0) } ?? DefaultCorpus.text()
        let validationText = try valData.map { try TextFile.read($0) }
        let texts = [text] + (validationText.map { [$0] } ?? [])
        let tokenizer = try given ?? TokenizerLoader.make(vocabulary.tokenizer, vocabularySize: vocabulary.vocabSize, texts: texts)
        let policy: SpecialTokenPolicy = allowSpecial ? .allowed : .ordinary
        func tokens(_ text: String) throws -> (TokenSequence, String) {
            guard data != nil else {
                return (TokenSequence(try tokenizer.encode(text, specialTokens: policy, threads: threads).map(Int32.init)), "")
            }
            let corpus = try TokenizedCorpus.load(
                text: text, tokenizer: tokenizer, specialTokens: policy, threads: threads,
                cacheDirectory: TokenCache.directory(environment: ProcessInfo.processInfo.environment),
                fallbackDirectory: outputDirectory.appendingPathComponent("tokens"))
            return (corpus.tokens, "; tokens \(corpus.reused ? "reused from" : "cached in") \(corpus.file.path)")
        }
        let (training, note) = try tokens(text)
        let dataset = try validationText.map { TokenDataset(training: training, validation: try tokens($0).0) }
            ?? TokenDataset(tokens: training)
        return (dataset, tokenizer, tokenizer.vocabularySize, "\(data ?? "the embedded default corpus"), \(tokenizer.kind)\(note)")
    }

    private func prepareTokenFiles(
        _ data: String, vocabulary: VocabularyOptions, tokenizer given: (any Tokenizer)?
    ) throws -> (TokenDataset, (any Tokenizer)?, vocabularySize: Int, String) {
        let vocabSize = vocabulary.vocabSize
        var tokenizer: (any Tokenizer)? = given
        if given != nil {
        } else if !TokenizerLoader.trainedKinds.contains(vocabulary.tokenizer) {
            tokenizer = try TokenizerLoader.loadAny(vocabulary.tokenizer)
        } else if vocabulary.tokenizer != "char" {
            throw ValidationError("a token file needs --tokenizer FILE|DIR (the one that made it), not \(vocabulary.tokenizer)")
        }
        let training = try TokenFile(contentsOf: URL(fileURLWithPath: data), vocabularySize: vocabSize ?? tokenizer?.vocabularySize)
        guard let vocabularySize = vocabSize ?? tokenizer?.vocabularySize ?? training.vocabularySize else {
            throw ValidationError("\(data) is a \(training.format.rawValue) token file: give its vocabulary size with --vocab-size (e.g. 50257 for GPT-2)")
        }
        if let tokenizer, tokenizer.vocabularySize > vocabularySize {
            throw ValidationError("--vocab-size \(vocabularySize) is smaller than the tokenizer's \(tokenizer.vocabularySize) tokens")
        }
        var dataset = TokenDataset(tokens: training.tokens)
        if let valData {
            guard Self.isTokenFile(valData) else { throw ValidationError("--val-data must be a token file when --data is one") }
            let validation = try TokenFile(contentsOf: URL(fileURLWithPath: valData), vocabularySize: vocabularySize)
            dataset = TokenDataset(training: training.tokens, validation: validation.tokens)
        }
        return (dataset, tokenizer, vocabularySize, "\(data) (\(training.format.rawValue) token file, vocabulary \(vocabularySize))")
    }
}
