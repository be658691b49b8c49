import ArgumentParser
import Foundation
import GPTEmbeddings
import GPTTensor

struct Word2VecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word2vec", abstract: "Word embeddings: train word2vec, query similar words and analogies, evaluate.",
        subcommands: [Word2VecTrain.self, Word2VecSimilar.self, Word2VecAnalogy.self, Word2VecEvaluate.self])
}

extension Word2VecSettings.Architecture: ExpressibleByArgument {}
extension TextNormalization: ExpressibleByArgument {}
extension WordVectors.FileFormat: ExpressibleByArgument {}
extension WordVectors.AnalogyMethod: ExpressibleByArgument {}

struct Word2VecTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train skip-gram or CBOW vectors with negative sampling; each input line is a sentence.")

    @Option(help: "A text file, or a directory whose .txt files are read in name order.") var data: String
    @Option(help: "skipgram | cbow.") var model = Word2VecSettings.Architecture.skipgram
    @Option(parsing: .unconditional, help: "Vector size.") var dimensions = 100
    @Option(parsing: .unconditional, help: "Context words on each side (a random smaller window per word, as word2vec).") var window = 5
    @Option(parsing: .unconditional, help: "Negative samples per positive.") var negative = 5
    @Option(parsing: .unconditional, help: "Ignore words seen fewer times.") var minCount = 5
    @Option(parsing: .unconditional, help: "Subsampling threshold for frequent words (0: off).") var sample: Double = 1e-3
    @Option(parsing: .unconditional, help: "Passes over the corpus.") var epochs = 5
    @Option(parsing: .unconditional, help: "Initial learning rate (default 0.025 for skip-gram, 0.05 for CBOW).") var alpha: Float?
    @Option(parsing: .unconditional, help: "Final learning rate.") var minAlpha: Float = 0.0001
    @Option(help: "lower-letters (lower-cased words [a-z]+), lower-whitespace, or whitespace.")
    var normalize = TextNormalization.lowerLetters
    @Option(parsing: .unconditional, help: "Random seed (with --threads 1 the result is reproducible bit for bit).") var seed: UInt64 = 1
    @Option(help: "Output vectors (.bin: binary, else text, unless --format says).") var out: String
    @Option(help: "text | binary.") var format: WordVectors.FileFormat?
    @Flag(help: "Replace a file already at --out.") var overwrite = false
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out must name a file") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw ValidationError("--out \(out) is a directory; name a file such as vectors.bin") }
            if !overwrite { throw ValidationError("\(out) already exists; pass --overwrite to replace it or choose another --out") }
        }
    }

    func run() throws {
        var settings = Word2VecSettings()
        settings.architecture = model
        settings.dimensions = dimensions
        settings.window = window
        settings.negatives = negative
        settings.sample = sample
        settings.epochs = epochs
        settings.alpha = alpha ?? (model == .cbow ? 0.05 : 0.025)
        settings.minAlpha = minAlpha
        settings.seed = seed
        try FlagNames.translating { try settings.validate() }
        let corpus = try Word2VecCorpus.load(path: data, normalization: normalize, minCount: minCount)
        Terminal.notice(
            "corpus: \(Terminal.grouped(Double(corpus.rawWordCount))) words in \(Terminal.grouped(Double(corpus.sentenceCount))) sentences; vocabulary \(Terminal.grouped(Double(corpus.words.count))) words seen ≥ \(minCount) times")
        let start = Date()
        let progress = ProgressLine(unit: "words")
        let vectors = try Word2Vec.train(corpus: corpus, settings: settings, parallelism: threads.parallelism) { done, total in
            progress.update(done: done, total: total)
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        if Terminal.standardErrorIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let chosen = format ?? WordVectors.FileFormat.forPath(out)
        try vectors.write(to: URL(fileURLWithPath: out), format: chosen)
        print(String(format: "trained %@ %d-dimensional vectors for %@ words in %.1f s (%@ words/s over %@)", model.rawValue, dimensions, Terminal.grouped(Double(vectors.words.count)), seconds, Terminal.grouped(Double(corpus.rawWordCount * epochs) / seconds), Terminal.counted(epochs, "epoch")))
        print("saved to \(out) (\(chosen.rawValue))")
    }
}

struct Word2VecSimilar: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "Words nearest to a word by cosine similarity.")
    @Option(help: "Vector file (word2vec text or binary).") var vectors: String
    @Argument(help: "The word.") var word: String
    @Option(parsing: .unconditional, help: "How many.") var top = 10

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1 (got \(top))") }
    }

    func run() throws {
        let loaded = try WordVectors.read(from: vectors)
        for (word, similarity) in try loaded.similar(to: word, top: top) {
            print(String(format: "%.4f  %@", similarity, word))
        }
    }
}

struct Word2VecAnalogy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogy", abstract: "a is to b as c is to ?: the words nearest to b − a + c (the three excluded).")
    @Option(help: "Vector file (word2vec text or binary).") var vectors: String
    @Argument(help: "a b c, e.g. man king woman.") var words: [String]
    @Option(parsing: .unconditional, help: "How many.") var top = 10
    @Option(help: "3cosadd | 3cosmul.") var method = WordVectors.AnalogyMethod.add

    func validate() throws {
        guard words.count == 3 else { throw ValidationError("give exactly three words: a b c (a is to b as c is to ?)") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1 (got \(top))") }
    }

    func run() throws {
        let loaded = try WordVectors.read(from: vectors)
        for (word, score) in try loaded.analogy(words[0], words[1], words[2], top: top, method: method) {
            print(String(format: "%.4f  %@", score, word))
        }
    }
}

struct Word2VecEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Accuracy on analogy questions (questions-words.txt), overall and per section.")
    @Option(help: "Vector file (word2vec text or binary).") var vectors: String
    @Option(help: "Questions: lines `a b c d` under `: section` headers.") var questions: String
    @Option(parsing: .unconditional, help: "Only the N most frequent words take part (gensim 4's default).") var restrictVocab = 300_000
    @Option(help: "3cosadd | 3cosmul.") var method = WordVectors.AnalogyMethod.add
    @Flag(help: "Print {\"accuracy\", \"skipped\", \"sections\": {…}}.") var json = false

    func run() throws {
        let loaded = try WordVectors.read(from: vectors)
        let result = try AnalogyEvaluation.evaluate(vectors: loaded, questions: questions, restrictTo: restrictVocab, method: method)
        if json {
            var sections: [String: Any] = [:]
            for section in result.sections {
                sections[section.name] = ["accuracy": section.accuracy, "correct": section.correct, "incorrect": section.incorrect]
            }
            let object: [String: Any] = [
                "accuracy": result.accuracy, "skipped": result.skipped, "correct": result.correct,
                "incorrect": result.incorrect, "sections": sections,
            ]
            print(try JSONLine.encode(object))
            return
        }
        for section in result.sections {
            print(String(format: "%-30@ %6.1f%%  (%d / %d)", section.name, section.accuracy * 100, section.correct, section.correct + section.incorrect))
        }
        print(String(format: "overall %.2f%% (%d / %d); %d questions skipped for words outside the vocabulary", result.accuracy * 100, result.correct, result.correct + result.incorrect, result.skipped))
    }
}
