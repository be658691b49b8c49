import Foundation
import GPTFormats
import GPTModel
import GPTTestSupport
import Testing

/// `gpt finetune --lora`, `--adapter` and `gpt lora merge` as a user runs them.
@Suite(.serialized) struct LoRACommandTests {
    let directory = temporaryDirectory("gpt-lora")
    /// A tiny character model trained on Tiny Shakespeare (the PEFT fixture's base).
    let base = projectRoot.appendingPathComponent("Tests/GPTModelTests/Fixtures/lora/base").path
    var text: String {
        let url = directory.appendingPathComponent("more.txt")
        if !FileManager.default.fileExists(atPath: url.path) {
            let shakespeare = sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path
            try! String(try! String(contentsOfFile: shakespeare, encoding: .utf8).suffix(40_000))
                .write(to: url, atomically: true, encoding: .utf8)
        }
        return url.path
    }
    func finetune(_ out: String, _ extra: [String]) throws -> CommandResult {
        try CLI.run(
            ["finetune", "--from", base, "--data", text, "--out", out, "--batch-size", "4", "--eval-iters", "1",
             "--eval-interval", "5", "--checkpoint-interval", "2", "--seed", "3", "--lora-rank", "4", "--lora-dropout", "0.1",
             "--lora-targets", "c_attn,c_proj,lm_head"] + extra)
    }

    @Test func anAdapterTrainsResumesExactlyAndLeavesTheBaseAlone() throws {
        let baseWeights = try Data(contentsOf: URL(fileURLWithPath: base + "/model.safetensors"))
        let straight = directory.appendingPathComponent("straight").path
        let result = try finetune(straight, ["--max-iters", "12"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("LoRA adapter (rank 4"))
        let config = try AdapterDirectory.loadConfiguration(URL(fileURLWithPath: straight))
        #expect(config.rank == 4 && config.alpha == 8 && config.dropout == Float(0.1) && config.targets == ["c_attn", "c_proj", "lm_head"])
        #expect(config.baseModel == base)
        #expect(!FileManager.default.fileExists(atPath: straight + "/model.safetensors"))
        // Stopped at 7, resumed to 12: the same adapter, bit for bit.
        let halves = directory.appendingPathComponent("halves").path
        #expect(try finetune(halves, ["--max-iters", "7"]).status == 0)
        let resumed = try CLI.run(["finetune", "--resume", halves, "--max-iters", "12"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let a = try Data(contentsOf: URL(fileURLWithPath: straight + "/adapter_model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: halves + "/adapter_model.safetensors"))
        #expect(a == b, "a resumed adapter differs from an uninterrupted one")
        #expect(try Data(contentsOf: URL(fileURLWithPath: base + "/model.safetensors")) == baseWeights)
        expectCleanFailure(try CLI.run(["finetune", "--resume", halves, "--lora-rank", "8"]), mentioning: "--resume", status: 64)
    }

    @Test func adaptersApplyAtLoadAndMergeIntoTheSameModel() throws {
        let adapter = directory.appendingPathComponent("adapter").path
        #expect(try finetune(adapter, ["--max-iters", "6", "--learning-rate", "1e-2"]).status == 0)
        let sample = ["sample", "--prompt", "ROMEO:", "--max-tokens", "30", "--seed", "7"]
        let adapted = try CLI.run(sample + ["--model", base, "--adapter", adapter])
        #expect(adapted.status == 0, "\(adapted.standardError)")
        let merged = directory.appendingPathComponent("merged").path
        let merge = try CLI.run(["lora", "merge", "--model", base, "--adapter", adapter, "--out", merged])
        #expect(merge.status == 0, "\(merge.standardError)")
        #expect(try CLI.run(sample + ["--model", merged]).standardOutput == adapted.standardOutput)
        // Weighted 0, the adapter changes nothing; evaluation takes adapters too.
        let data = text
        let plainEval = try CLI.run(["eval", "--model", base, "--data", data])
        let zero = try CLI.run(["eval", "--model", base, "--data", data, "--adapter", adapter, "--adapter-scale", "0"])
        // The loss, perplexity and bits per byte lines (the last line has the speed).
        func scores(_ result: CommandResult) -> String { result.standardOutput.split(separator: "\n").prefix(3).joined(separator: "\n") }
        #expect(plainEval.status == 0 && scores(zero) == scores(plainEval), "\(zero.standardError)")
        let full = try CLI.run(["eval", "--model", base, "--data", data, "--adapter", adapter])
        #expect(full.status == 0 && scores(full) != scores(plainEval))
        expectCleanFailure(try CLI.run(["lora", "merge", "--model", base, "--adapter", adapter, "--out", merged]), mentioning: "--overwrite")
        // For llama.cpp: one .lora_a/.lora_b pair per adapted matrix.
        let gguf = directory.appendingPathComponent("adapter.gguf").path
        let export = try CLI.run(["lora", "export", "--model", base, "--adapter", adapter, "--out", gguf])
        #expect(export.status == 0, "\(export.standardError)")
        let file = try GGUFFile(contentsOf: URL(fileURLWithPath: gguf))
        #expect(file.tensors.map(\.name).contains("output.weight.lora_b") && file.tensors.count == 2 * (2 * 3 + 1))
        expectCleanFailure(try CLI.run(["lora", "export", "--model", base, "--adapter", adapter, "--out", gguf]), mentioning: "--overwrite", status: 64)
    }

    @Test func adaptersTrainOverAQuantizedGGUFBase() throws {
        let gguf = directory.appendingPathComponent("base-q8.gguf").path
        #expect(try CLI.run(["quantize", "--model", base, "--type", "q8_0", "--out", gguf]).status == 0)
        let adapter = directory.appendingPathComponent("qlora").path
        let result = try CLI.run(
            ["finetune", "--from", gguf, "--data", text, "--out", adapter, "--batch-size", "4", "--eval-iters", "1",
             "--eval-interval", "4", "--max-iters", "4", "--lora-targets", "c_attn,c_fc"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("stay as stored"))
        #expect(AdapterDirectory.containsAdapter(URL(fileURLWithPath: adapter)))
        let resumed = try CLI.run(["finetune", "--resume", adapter, "--max-iters", "6"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        let sample = try CLI.run(["sample", "--model", gguf, "--adapter", adapter, "--prompt", "ROMEO:", "--max-tokens", "8"])
        #expect(sample.status == 0 && sample.standardOutput.hasPrefix("ROMEO:"), "\(sample.standardError)")
        // Full fine-tuning still needs Float32 weights.
        expectCleanFailure(
            try CLI.run(["finetune", "--from", gguf, "--data", text, "--out", directory.appendingPathComponent("full").path]),
            mentioning: "gpt export", status: 64)
    }

    @Test func misuseIsOneLine() throws {
        let out = directory.appendingPathComponent("bad").path
        expectCleanFailure(try finetune(out, ["--lora-rank", "0"]), mentioning: "--lora-rank must be at least 1", status: 64)
        expectCleanFailure(try finetune(out, ["--lora-rank", "33"]), mentioning: "between 1 and 32", status: 64)
        expectCleanFailure(try finetune(out, ["--lora-targets", "q_proj"]), mentioning: "unknown LoRA target module 'q_proj'", status: 64)
        expectCleanFailure(try finetune(out, ["--lora-alpha", "-1"]), mentioning: "--lora-alpha", status: 64)
        expectCleanFailure(try finetune(out, ["--freeze-layers", "1"]), mentioning: "--freeze", status: 64)
        #expect(!FileManager.default.fileExists(atPath: out))
        let sample = ["sample", "--model", base, "--prompt", "A", "--max-tokens", "2"]
        expectCleanFailure(try CLI.run(sample + ["--adapter", out]), mentioning: "not found", status: 1)
        expectCleanFailure(try CLI.run(sample + ["--adapter", base]), mentioning: "adapter_config.json is missing", status: 1)
        expectCleanFailure(try CLI.run(sample + ["--adapter", base, "--adapter-scale", "1", "--adapter-scale", "2"]), mentioning: "one --adapter-scale per --adapter", status: 64)
        expectCleanFailure(try CLI.run(["lora", "merge", "--model", base, "--out", out]), mentioning: "--adapter", status: 64)
        // An adapter for a different base shape.
        let narrow = directory.appendingPathComponent("narrow").path
        #expect(try CLI.run(["train", "--data", text, "--out", narrow, "--layers", "1", "--heads", "2", "--embedding-size", "16",
                             "--context-length", "16", "--max-iters", "1", "--eval-iters", "1", "--batch-size", "2"]).status == 0)
        let fixtureAdapter = projectRoot.appendingPathComponent("Tests/GPTModelTests/Fixtures/lora/ours").path
        expectCleanFailure(
            try CLI.run(["sample", "--model", narrow, "--prompt", "A", "--max-tokens", "2", "--adapter", fixtureAdapter]),
            mentioning: "different base model", status: 1)
    }
}
