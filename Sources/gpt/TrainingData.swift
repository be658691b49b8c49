import ArgumentParser
import Foundation
import GPTFormats
import GPTTokenizer
import GPTTraining

/// `--tokenizer` and `--vocab-size` for `gpt train` (fine-tuning and distillation keep the model's).
struct VocabularyOptions: ParsableArguments {
    @Option(help: "char | word | bpe (built from the training text), a tokenizer FILE, or a DIR with GPT-2's vocabulary files.")
    var tokenizer = "char"
    @Option(parsing: .unconditional, help: "Vocabulary size for --tokenizer word (default 10000) or bpe (default 1024); for token files, their vocabulary.")
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

    /// The data and vocabulary options a checkpoint's run description stands for (the vocabulary
    /// options rebuild a tokenizer whose file was deleted).
    static func restore(_ run: RunDescription) throws -> (DataOptions, VocabularyOptions) {
        var arguments: [String] = []
        if let data = run.data { arguments += ["--data", data] }
        if let valData = run.validationData { arguments += ["--val-data", valData] }
        if run.allowSpecial { arguments.append("--allow-special") }
        var vocabulary: [String] = []
        if let tokenizer = run.tokenizer { vocabulary += ["--tokenizer", tokenizer] }
        let sized = run.data.map(isTokenFile) == true || ["word", "bpe"].contains(run.tokenizer ?? "char")
        if sized, let size = run.vocabularySize { vocabulary += ["--vocab-size", String(size)] }
        return (try DataOptions.parse(arguments), try VocabularyOptions.parse(vocabulary))
    }

    static func isTokenFile(_ path: String) -> Bool {
        ["bin", "tokens"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// The data set, the tokenizer to save with the model (nil for token files without
    /// --tokenizer), a line describing the data for the user, and the texts' hashes.
    /// `tokenizer`, when given, is used instead of building one (resume, fine-tuning, distillation).
    func prepare(
        outputDirectory: URL, threads: Int, vocabulary: VocabularyOptions = .standard, tokenizer given: (any Tokenizer)? = nil
    ) throws -> PreparedData {
        if let data, Self.isTokenFile(data) {
            return try prepareTokenFiles(data, vocabulary: vocabulary, tokenizer: given)
        }
        let text = try data.map { try TextFile.read($0) } ?? DefaultCorpus.text()
        let validationText = try valData.map { try TextFile.read($0) }
        func hash(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hex($0) } }
        let texts = [text] + (validationText.map { [$0] } ?? [])
        let tokenizer = try given ?? TokenizerLoader.make(vocabulary.tokenizer, vocabularySize: vocabulary.vocabSize, texts: texts)
        let policy: SpecialTokenPolicy = allowSpecial ? .allowed : .ordinary
        // Tokens, a note for the user, and the text's SHA-256 (the token cache computes it anyway).
        func tokens(_ text: String) throws -> (TokenSequence, note: String, hash: String) {
            guard data != nil else {
                return (TokenSequence(try tokenizer.encode(text, specialTokens: policy, threads: threads).map(Int32.init)), "", hash(text))
            }
            let corpus = try TokenizedCorpus.load(
                text: text, tokenizer: tokenizer, specialTokens: policy, threads: threads,
                cacheDirectory: TokenCache.directory(environment: ProcessInfo.processInfo.environment),
                fallbackDirectory: outputDirectory.appendingPathComponent("tokens"))
            if let reason = corpus.rebuilt { Terminal.notice("note: rebuilt the token cache: \(reason)") }
            return (corpus.tokens, "; tokens \(corpus.reused ? "reused from" : "cached in") \(corpus.file.path)", corpus.textHash)
        }
        let (training, note, trainingHash) = try tokens(text)
        let validation = try validationText.map(tokens)
        let dataset = validation.map { TokenDataset(training: training, validation: $0.0) } ?? TokenDataset(tokens: training)
        return PreparedData(
            dataset: dataset, tokenizer: tokenizer, vocabularySize: tokenizer.vocabularySize,
            summary: "\(data ?? "the embedded default corpus"), \(tokenizer.kind)\(note)",
            dataHash: data == nil ? nil : trainingHash, validationDataHash: validation?.hash)
    }

    private func prepareTokenFiles(
        _ data: String, vocabulary: VocabularyOptions, tokenizer given: (any Tokenizer)?
    ) throws -> PreparedData {
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
        return PreparedData(
            dataset: dataset, tokenizer: tokenizer, vocabularySize: vocabularySize,
            summary: "\(data) (\(training.format.rawValue) token file, vocabulary \(vocabularySize))",
            dataHash: nil, validationDataHash: nil)
    }
}

/// What a run trains on, ready: the data set, the tokenizer to save with the model (nil for token
/// files without one), a line for the user, and the SHA-256 of each text (nil for the embedded
/// corpus and token files) that a resumed run compares with the checkpoint's.
struct PreparedData {
    let dataset: TokenDataset
    let tokenizer: (any Tokenizer)?
    let vocabularySize: Int
    let summary: String
    let dataHash: String?
    let validationDataHash: String?

    /// Records the hashes, the tokenizer and the thread count in a run description.
    func describe(_ run: inout RunDescription, tokenizerOption: String?, threads: Int) throws {
        run.dataHash = dataHash
        run.validationDataHash = validationDataHash
        run.threads = threads
        run.tokenizer = tokenizerOption.map {
            TokenizerLoader.trainedKinds.contains($0) ? $0 : URL(fileURLWithPath: $0).path
        }
        run.tokenizerHash = try tokenizer.map(Self.hash)
    }

    /// Refuses a resume whose texts changed since the run started (their hashes were recorded).
    func requireUnchanged(since run: RunDescription) throws {
        for (recorded, now, path) in [
            (run.dataHash, dataHash, run.data), (run.validationDataHash, validationDataHash, run.validationData),
        ] {
            if let recorded, recorded != now {
                throw ValidationError(
                    "\(path ?? "the training text") changed since this run started (its SHA-256 differs); restore it to resume, or start a new run with --out")
            }
        }
    }

    /// The SHA-256 of a tokenizer's file contents.
    static func hash(_ tokenizer: any Tokenizer) throws -> String {
        try tokenizer.description.encoded().withUnsafeBytes { SHA256.hex($0) }
    }
}
