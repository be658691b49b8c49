import Foundation
import GPTTestSupport
import Testing

/// `--tokenizer` everywhere, `gpt tokenize`, `gpt tokenizer train|export`, token files and their cache.
@Suite(.serialized) struct TokenizerCommandTests {
    let directory = temporaryDirectory("gpt-tokenizers")
    var gpt2: String { sharedDataDirectory.appendingPathComponent("gpt2").path }
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }

    @Test func tokenizePrintsIdsPiecesAndJSON() throws {
        let json = try CLI.run(["tokenize", "--tokenizer", gpt2, "--json", "Hello world"])
        #expect(json.status == 0, "\(json.standardError)")
        #expect(json.standardOutput == "{\"ids\": [15496, 995]}\n")
        let special = try CLI.run(["tokenize", "--tokenizer", gpt2, "--json", "--allow-special", "<|endoftext|>"])
        #expect(special.standardOutput == "{\"ids\": [50256]}\n")
        let plain = try CLI.run(["tokenize", "--tokenizer", gpt2, " “quotes”"])
        #expect(plain.standardOutput.contains("ids:    564 250 421 6421 447 251"))
        #expect(plain.standardOutput.contains("<20 e2 80>"))  // a token that is not whole UTF-8, shown as bytes
        #expect(plain.standardOutput.contains("marked: "))
        expectCleanFailure(try CLI.run(["tokenize", "--tokenizer", "/nonexistent", "x"]), mentioning: "not found")
        expectCleanFailure(try CLI.run(["tokenize", "x"]), mentioning: "--tokenizer")
    }

    /// `word` and `bpe` are learnt from text: `gpt tokenize` learns them from --data first, as
    /// `gpt train` does, and says so when --data is missing.
    @Test func tokenizeLearnsWordAndBPETokenizersFromData() throws {
        let word = try CLI.run(["tokenize", "--tokenizer", "word", "--data", shakespeare, "--vocab-size", "3000", "Hello, world!"])
        #expect(word.status == 0, "\(word.standardError)")
        #expect(word.standardOutput.contains("pieces: \"<unk>\" \",\" \"world\" \"!\""), "\(word.standardOutput)")
        let bpe = try CLI.run(["tokenize", "--tokenizer", "bpe", "--data", shakespeare, "--json", "ROMEO: But soft"])
        #expect(bpe.status == 0, "\(bpe.standardError)")
        // The same BPE that gpt tokenizer train learns with train's defaults (1024 tokens, <|endoftext|>).
        let file = directory.appendingPathComponent("same-bpe.json").path
        let trained = try CLI.run([
            "tokenizer", "train", "--data", shakespeare, "--vocab-size", "1024", "--special", "<|endoftext|>", "--out", file,
        ])
        #expect(trained.status == 0, "\(trained.standardError)")
        let same = try CLI.run(["tokenize", "--tokenizer", file, "--json", "ROMEO: But soft"])
        #expect(bpe.standardOutput == same.standardOutput && bpe.standardOutput.hasPrefix("{\"ids\": ["))
        let characters = try CLI.run(["tokenize", "--tokenizer", "char", "--data", shakespeare, "--json", "ab"])
        #expect(characters.standardOutput == "{\"ids\": [39, 40]}\n", "\(characters.standardOutput)")
        expectCleanFailure(try CLI.run(["tokenize", "--tokenizer", "word", "Hello"]), mentioning: "give --data FILE", status: 64)
        expectCleanFailure(try CLI.run(["tokenize", "--tokenizer", "bpe", "Hello"]), mentioning: "--data", status: 64)
        expectCleanFailure(try CLI.run(["tokenize", "--tokenizer", gpt2, "--data", shakespeare, "x"]), mentioning: "--data", status: 64)
        expectCleanFailure(
            try CLI.run(["tokenize", "--tokenizer", "char", "--data", shakespeare, "--vocab-size", "9", "x"]),
            mentioning: "--vocab-size", status: 64)
    }

    /// Issue 24: books that start with a byte-order mark (39 of 41 Gutenberg books) train models that every
    /// command opens, with each tokenizer kind; a U+FEFF inside the text is an ordinary character.
    @Test func textWithAByteOrderMarkTrainsModelsThatLoad() throws {
        let book = sharedDataDirectory.appendingPathComponent("corpus/gutenberg/pg35_the_time_machine.txt")
        let bytes = try Data(contentsOf: book).prefix(30_000)
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let marked = directory.appendingPathComponent("marked.txt")
        try bytes.write(to: marked)
        let plain = directory.appendingPathComponent("plain.txt")
        try bytes.dropFirst(3).write(to: plain)
        let inside = directory.appendingPathComponent("inside.txt")
        try (bytes.dropFirst(3).prefix(15_000) + Data([0xEF, 0xBB, 0xBF]) + bytes.dropFirst(15_003)).write(to: inside)
        let tiny = ["--layers", "1", "--heads", "1", "--embedding-size", "16", "--context-length", "16", "--max-iters", "3",
                    "--eval-interval", "3", "--eval-iters", "1", "--batch-size", "2"]
        func trainAndOpen(_ data: URL, _ tokenizer: String, _ name: String) throws -> String {
            let model = directory.appendingPathComponent(name).path
            let size = tokenizer == "bpe" ? ["--vocab-size", "300"] : []
            let trained = try CLI.run(["train", "--data", data.path, "--out", model, "--tokenizer", tokenizer] + size + tiny)
            #expect(trained.status == 0, "\(name): \(trained.standardError)")
            let info = try CLI.run(["info", "--model", model])
            #expect(info.status == 0, "\(name) info: \(info.standardError)")
            let sample = try CLI.run(["sample", "--model", model, "--max-tokens", "5", "--prompt-file", marked.path])
            #expect(sample.status == 0, "\(name) sample: \(sample.standardError)")
            let eval = try CLI.run(["eval", "--model", model, "--data", data.path])
            #expect(eval.status == 0, "\(name) eval: \(eval.standardError)")
            return model
        }
        for kind in ["char", "word", "bpe"] { _ = try trainAndOpen(marked, kind, "marked-\(kind)") }
        // The mark is not text: the same vocabulary as the file without it.
        let withMark = try trainAndOpen(marked, "char", "vocabulary-marked")
        let without = try trainAndOpen(plain, "char", "vocabulary-plain")
        let tokenizerFile = "gpt-tokenizer.json"
        #expect(try Data(contentsOf: URL(fileURLWithPath: withMark + "/" + tokenizerFile))
            == Data(contentsOf: URL(fileURLWithPath: without + "/" + tokenizerFile)))
        // Inside the text it is a character of the vocabulary like any other.
        let kept = try trainAndOpen(inside, "char", "inside-char")
        let vocabulary = try String(contentsOfFile: kept + "/" + tokenizerFile, encoding: .utf8)
        #expect(vocabulary.unicodeScalars.contains("\u{FEFF}"))
    }

    @Test func trainsExportsAndUsesABPE() throws {
        let file = directory.appendingPathComponent("bpe.json").path
        let trained = try CLI.run(["tokenizer", "train", "--data", shakespeare, "--vocab-size", "400", "--special", "<|endoftext|>", "--out", file])
        #expect(trained.status == 0, "\(trained.standardError)")
        #expect(trained.standardOutput.contains("400 tokens"))
        let export = directory.appendingPathComponent("exported").path
        #expect(try CLI.run(["tokenizer", "export", "--tokenizer", file, "--out", export]).status == 0)
        let viaFile = try CLI.run(["tokenize", "--tokenizer", file, "--json", "ROMEO: But soft!"])
        let viaExport = try CLI.run(["tokenize", "--tokenizer", export, "--json", "ROMEO: But soft!"])
        #expect(viaFile.standardOutput == viaExport.standardOutput)
        expectCleanFailure(
            try CLI.run(["tokenizer", "train", "--data", shakespeare, "--vocab-size", "100", "--out", file]), mentioning: "--vocab-size")
        expectCleanFailure(try CLI.run(["tokenizer", "train", "--data", "/nonexistent.txt", "--vocab-size", "300", "--out", file]), mentioning: "not found")
        let corrupt = directory.appendingPathComponent("corrupt.json")
        try Data("{\"type\": \"bpe\", \"vocabulary\": 3}".utf8).write(to: corrupt)
        expectCleanFailure(try CLI.run(["tokenize", "--tokenizer", corrupt.path, "x"]), mentioning: "vocabulary")
    }

    @Test func trainWithEachTokenizerKindSavesItForSampleAndEval() throws {
        let text = directory.appendingPathComponent("small.txt")
        try String(try String(contentsOfFile: shakespeare, encoding: .utf8).prefix(60_000)).write(to: text, atomically: true, encoding: .utf8)
        let cache = directory.appendingPathComponent("cache").path
        for (kind, extra) in [("bpe", ["--vocab-size", "300"]), ("word", ["--vocab-size", "500"]), (gpt2, [])] {
            let model = directory.appendingPathComponent("model-\(UUID().uuidString)").path
            let arguments = ["train", "--data", text.path, "--tokenizer", kind, "--out", model, "--max-iters", "3", "--eval-iters", "1",
                             "--layers", "1", "--embedding-size", "32", "--heads", "2", "--context-length", "16"] + extra
            let result = try runWithCache(arguments, cache: cache)
            #expect(result.status == 0, "\(kind): \(result.standardError)")
            #expect(result.standardError.contains("cached in \(cache)"), "\(result.standardError)")
            let again = try runWithCache(arguments + ["--overwrite"], cache: cache)
            #expect(again.standardError.contains("reused from \(cache)"), "\(again.standardError)")
            let sample = try CLI.run(["sample", "--model", model, "--prompt", "ROMEO", "--max-tokens", "5"])
            #expect(sample.status == 0, "\(kind): \(sample.standardError)")
            let eval = try CLI.run(["eval", "--model", model, "--data", text.path, "--json"])
            #expect(eval.status == 0, "\(kind): \(eval.standardError)")
        }
        // Nothing was written beside the input.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tokens") }.isEmpty)
    }

    @Test func trainsOnNanoGPTTokenFiles() throws {
        let bin = directory.appendingPathComponent("train.bin")
        var state: UInt64 = 1
        let ids: [UInt16] = (0..<5_000).map { _ in
            state = state &* 6364136223846793005 &+ 1
            return UInt16((state >> 33) % 50)
        }
        try ids.map(\.littleEndian).withUnsafeBytes { try Data($0).write(to: bin) }
        let model = directory.appendingPathComponent("from-bin").path
        let small = ["--max-iters", "2", "--eval-iters", "1", "--layers", "1", "--embedding-size", "32", "--heads", "2", "--context-length", "16"]
        expectCleanFailure(try CLI.run(["train", "--data", bin.path, "--out", model] + small), mentioning: "--vocab-size")
        expectCleanFailure(try CLI.run(["train", "--data", bin.path, "--vocab-size", "40", "--out", model] + small), mentioning: "token id 49")
        let trained = try CLI.run(["train", "--data", bin.path, "--vocab-size", "50", "--out", model] + small)
        #expect(trained.status == 0, "\(trained.standardError)")
        #expect(trained.standardError.contains("nanoGPT token file"))
        expectCleanFailure(try CLI.run(["sample", "--model", model]), mentioning: "--tokenizer")
    }

    func runWithCache(_ arguments: [String], cache: String) throws -> CommandResult {
        try CLI.run(arguments, environment: ["XDG_CACHE_HOME": cache])
    }
}
