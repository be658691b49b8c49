import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train and export tokenizers.",
        subcommands: [TrainTokenizer.self, ExportTokenizer.self])
}

struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a byte-level BPE (or a word vocabulary) on text files and save it as a tokenizer file.")

    @Option(parsing: .upToNextOption, help: "Training text files (UTF-8).") var data: [String]
    @Option(parsing: .unconditional, help: "Vocabulary size, special tokens included (BPE: 256 + specials ... 1,000,000).") var vocabSize: Int
    @Option(help: "A special token (repeatable), e.g. <|endoftext|>; they take the last ids.") var special: [String] = []
    @Option(help: "bpe (default) or word.") var kind = "bpe"
    @Option(help: "Output tokenizer file (JSON); load it with --tokenizer FILE.") var out: String

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data file") }
        guard ["bpe", "word"].contains(kind) else { throw ValidationError("--kind must be bpe or word (got \(kind))") }
    }

    func run() throws {
        let texts = try data.map { try TextFile.read($0) }
        let start = monotonicSeconds()
        let tokenizer: any Tokenizer
        if kind == "word" {
            guard special.isEmpty else { throw ValidationError("--special applies to BPE tokenizers") }
            tokenizer = try WordTokenizer(training: texts, vocabularySize: vocabSize)
        } else {
            tokenizer = try BytePairTrainer.train(texts: texts, vocabularySize: vocabSize, specialTokens: special)
        }
        let seconds = monotonicSeconds() - start
        try AtomicFile.write(tokenizer.description.encoded(), to: URL(fileURLWithPath: out))
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        print(String(format: "trained %@ on %@ bytes in %.2f s", tokenizer.kind, Terminal.grouped(Double(bytes)), seconds))
        if tokenizer.vocabularySize < vocabSize {
            Terminal.notice("note: the text ran out of pairs to merge at \(tokenizer.vocabularySize) tokens (asked for \(vocabSize))")
        }
        print("saved to \(out)")
    }
}

struct ExportTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a BPE tokenizer as GPT-2's encoder.json + vocab.bpe.")

    @Option(help: "A tokenizer file or a directory with GPT-2's vocabulary files.") var tokenizer: String
    @Option(help: "Output directory.") var out: String

    func run() throws {
        let bytePair = try TokenizerLoader.load(tokenizer)
        let (vocabulary, merges) = try GPT2Files.export(bytePair, to: URL(fileURLWithPath: out))
        print("wrote \(vocabulary.path) and \(merges.path)")
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a tokenizer cuts text: ids, pieces and the text with token boundaries marked (│).")

    @Option(help: "A model directory (its tokenizer is used).") var model: String?
    @Option(help: "char | word | bpe (trained on --data first, as gpt train does), a tokenizer FILE, or a DIR with GPT-2's vocabulary files.")
    var tokenizer: String?
    @Option(help: "The text --tokenizer char|word|bpe is trained on.") var data: String?
    @Option(parsing: .unconditional, help: "Vocabulary size for --tokenizer word (default 10000) or bpe (default 1024).") var vocabSize: Int?
    @Argument(help: "Text to tokenize.") var text: String?
    @Option(help: "Read the text from a file instead.") var file: String?
    @Flag(help: "Print exactly {\"ids\": [...]}.") var json = false
    @Flag(help: "Recognise special tokens such as <|endoftext|> (default: ordinary text).") var allowSpecial = false
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if (model == nil) == (tokenizer == nil) { throw ValidationError("give either --model DIR or --tokenizer FILE|DIR") }
        if (text == nil) == (file == nil) { throw ValidationError("give either TEXT or --file FILE") }
        if let tokenizer, TokenizerLoader.trainedKinds.contains(tokenizer), data == nil {
            throw ValidationError(
                "--tokenizer \(tokenizer) is trained from text, as gpt train does: give --data FILE (the text it learns from)\(tokenizer == "char" ? "" : " and optionally --vocab-size N")")
        }
        if data != nil, !(tokenizer.map(TokenizerLoader.trainedKinds.contains) ?? false) {
            throw ValidationError("--data is the text that --tokenizer char|word|bpe is trained on; a model's or a saved tokenizer needs none")
        }
        if vocabSize != nil, data == nil {
            throw ValidationError("--vocab-size applies to --tokenizer word|bpe with --data FILE")
        }
    }

    func run() throws {
        let loaded: any Tokenizer
        if let model {
            loaded = try ModelDirectory.loadTokenizer(URL(fileURLWithPath: model))
        } else if let data {
            loaded = try TokenizerLoader.make(tokenizer!, vocabularySize: vocabSize, texts: [TextFile.read(data)])
        } else {
            loaded = try TokenizerLoader.loadAny(tokenizer!)
        }
        let input = try text ?? TextFile.read(file!)
        let ids = try loaded.encode(
            input, specialTokens: allowSpecial ? .allowed : .ordinary,
            threads: threads.count)
        if json {
            FileHandle.standardOutput.write(Self.json(ids))
            return
        }
        let pieces = ids.map { Self.show(loaded.decodeBytes([$0])) }
        print("tokens: \(ids.count)")
        print("ids:    \(ids.map(String.init).joined(separator: " "))")
        print("pieces: \(pieces.joined(separator: " "))")
        print("marked: \(ids.map { String(decoding: loaded.decodeBytes([$0]), as: UTF8.self) }.joined(separator: "│"))")
    }

    /// A piece as a quoted, escaped string, or its bytes in hex when it is not whole UTF-8.
    static func show(_ bytes: [UInt8]) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return "<" + bytes.map { String(format: "%02x", $0) }.joined(separator: " ") + ">"
        }
        return text.debugDescription
    }

    /// `{"ids": [1, 2, 3]}` and a newline, written without intermediate strings.
    static func json(_ ids: [Int]) -> Data {
        var bytes: [UInt8] = Array("{\"ids\": [".utf8)
        bytes.reserveCapacity(ids.count * 7 + 16)
        var digits = [UInt8](repeating: 0, count: 20)
        for (index, id) in ids.enumerated() {
            if index > 0 { bytes.append(0x2C); bytes.append(0x20) }
            var value = id
            var count = 0
            repeat {
                digits[count] = UInt8(0x30 + value % 10)
                value /= 10
                count += 1
            } while value > 0
            for position in stride(from: count - 1, through: 0, by: -1) { bytes.append(digits[position]) }
        }
        bytes += Array("]}\n".utf8)
        return Data(bytes)
    }
}
