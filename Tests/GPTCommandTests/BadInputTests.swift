import Foundation
import GPTTestSupport
import Testing

/// Every kind of bad input is a one-line error on stderr and a non-zero exit, never a crash.
@Suite(.serialized) struct BadInputTests {
    let directory = temporaryDirectory("gpt-bad-input")

    func file(_ name: String, _ contents: Data) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return url.path
    }

    var out: String { directory.appendingPathComponent("model-\(UUID().uuidString)").path }

    @Test func versionAndBenchmarksNameTheMachineAndDrawNoForeignRatios() throws {
        let version = try CLI.run(["--version"])
        #expect(version.status == 0 && version.standardOutput.hasPrefix("swift-gpt "), "\(version.standardOutput)")
        let bench = try CLI.run(["bench", "train", "--steps", "1", "--warmup", "0", "--threads", "1"])
        #expect(bench.status == 0, "\(bench.standardError)")
        let machine = bench.standardOutput.split(separator: "\n").first { $0.hasPrefix("machine:") } ?? ""
        #expect(machine.contains("1 thread,") && machine.count > "machine:     1 thread,".count, "\(machine)")
        #expect(bench.standardOutput.contains("reference:   nanoGPT"))
        #expect(!bench.standardOutput.contains("× nanoGPT"))
        // The ceilings are probed before and after the steps, with a verdict.
        let ceilings = bench.standardOutput.split(separator: "\n").first { $0.hasPrefix("ceilings:") } ?? ""
        #expect(ceilings.contains("GFLOP/s") && ceilings.contains("GB/s"), "\(ceilings)")
        #expect(ceilings.contains("steady") || ceilings.contains("machine unstable"), "\(ceilings)")
        // bench tokenize names the machine too.
        let gpt2 = sharedDataDirectory.appendingPathComponent("gpt2").path
        let text = try file("bench.txt", Data("Hello world, hello tokenizer.\n".utf8))
        let tokenize = try CLI.run(["bench", "tokenize", "--tokenizer", gpt2, text, "--runs", "1", "--threads", "1"])
        #expect(tokenize.status == 0, "\(tokenize.standardError)")
        #expect(tokenize.standardOutput.contains("machine:     ") && tokenize.standardOutput.contains("1 thread"), "\(tokenize.standardOutput)")
    }

    @Test func missingEmptyShortAndNonUTF8Data() throws {
        expectCleanFailure(try CLI.run(["train", "--data", "/nonexistent/input.txt", "--out", out]), mentioning: "not found")
        expectCleanFailure(try CLI.run(["train", "--data", try file("empty.txt", Data()), "--out", out]), mentioning: "is empty")
        let short = try file("short.txt", Data("To be or not to be, that is the question.\n".utf8))
        expectCleanFailure(try CLI.run(["train", "--data", short, "--out", out]), mentioning: "fewer than the context length")
        let latin1 = try file("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9]) + Data(repeating: 0x61, count: 400))
        expectCleanFailure(try CLI.run(["train", "--data", latin1, "--out", out]), mentioning: "not valid UTF-8")
    }

    @Test func unknownPresetAndInvalidOptionValues() throws {
        expectCleanFailure(try CLI.run(["train", "--preset", "gpt5", "--out", out]), mentioning: "unknown preset")
        expectCleanFailure(try CLI.run(["train", "--layers", "0", "--out", out]), mentioning: "--layers")
        expectCleanFailure(try CLI.run(["train", "--heads", "3", "--out", out]), mentioning: "divisible")
        expectCleanFailure(try CLI.run(["train", "--dropout", "1.5", "--out", out]), mentioning: "--dropout")
        expectCleanFailure(try CLI.run(["train", "--learning-rate", "-1", "--out", out]), mentioning: "--learning-rate")
        expectCleanFailure(try CLI.run(["train", "--max-iters", "ten", "--out", out]), mentioning: "max-iters")
        expectCleanFailure(try CLI.run(["train", "--position", "rotary", "--out", out]), mentioning: "position")
        expectCleanFailure(try CLI.run(["train", "--threads", "0", "--out", out]), mentioning: "--threads")
        expectCleanFailure(try CLI.run(["train", "--out", out, "--bogus"]), mentioning: "bogus")
        let config = try file("bad-config.json", Data(#"{"layers": 2, "colour": "blue"}"#.utf8))
        expectCleanFailure(try CLI.run(["train", "--config", config, "--out", out]), mentioning: "colour")
        expectCleanFailure(try CLI.run(["train", "--config", "/nonexistent.json", "--out", out]), mentioning: "not found")
        expectCleanFailure(try CLI.run(["sample", "--model", out]), mentioning: "not found")
        expectCleanFailure(try CLI.run(["sample", "--model", out, "--temperature", "-1"]), mentioning: "--temperature")
    }

    @Test func unwritableOutputAndExistingModel() throws {
        expectCleanFailure(try CLI.run(["train", "--max-iters", "1", "--out", "/proc/gpt-model"]), mentioning: "/proc/gpt-model")
        let blocker = try file("not-a-directory", Data("x".utf8))
        expectCleanFailure(try CLI.run(["train", "--max-iters", "1", "--out", blocker]), mentioning: "not a directory")
        let model = out
        let trained = try CLI.run(["train", "--max-iters", "2", "--eval-iters", "1", "--out", model])
        #expect(trained.status == 0, "\(trained.standardError)")
        expectCleanFailure(try CLI.run(["train", "--max-iters", "2", "--out", model]), mentioning: "--overwrite")
        let again = try CLI.run(["train", "--max-iters", "2", "--eval-iters", "1", "--out", model, "--overwrite"])
        #expect(again.status == 0, "\(again.standardError)")
    }

    @Test func corruptTruncatedAndMismatchedModels() throws {
        let model = out
        let trained = try CLI.run(["train", "--max-iters", "2", "--eval-iters", "1", "--out", model])
        #expect(trained.status == 0, "\(trained.standardError)")
        let weights = URL(fileURLWithPath: model).appendingPathComponent("model.safetensors")
        let original = try Data(contentsOf: weights)
        let text = try file("eval.txt", Data("the little fox saw a red bird by the river.\n".utf8))

        try original.prefix(original.count / 2).write(to: weights)
        expectCleanFailure(try CLI.run(["eval", "--model", model, "--data", text]), mentioning: "truncated")
        try (Data([1, 2, 3, 4, 5, 6, 7, 8]) + Data(repeating: 7, count: 64)).write(to: weights)
        expectCleanFailure(try CLI.run(["sample", "--model", model]), mentioning: "corrupt")
        try original.write(to: weights)

        let configURL = URL(fileURLWithPath: model).appendingPathComponent("config.json")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "\"n_embd\" : 128", with: "\"n_embd\" : 64").write(to: configURL, atomically: true, encoding: .utf8)
        expectCleanFailure(try CLI.run(["info", "--model", model]), mentioning: "do not match")
        try config.replacingOccurrences(of: "\"n_layer\" : 4", with: "\"n_layer\" : 5").write(to: configURL, atomically: true, encoding: .utf8)
        expectCleanFailure(try CLI.run(["sample", "--model", model]), mentioning: "h.4.")
        try config.write(to: configURL, atomically: true, encoding: .utf8)

        let ok = try CLI.run(["eval", "--model", model, "--data", text])
        #expect(ok.status == 0, "\(ok.standardError)")
        expectCleanFailure(try CLI.run(["sample", "--model", model, "--prompt", "Zebra!"]), mentioning: "'Z'")
    }
}
