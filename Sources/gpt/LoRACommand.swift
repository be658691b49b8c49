import ArgumentParser
import Foundation
import GPTModel

/// `gpt lora …`: what to do with an adapter besides applying it at load (`--adapter`).
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora", abstract: "Work with LoRA adapters (PEFT's format).", subcommands: [LoRAMerge.self])
}

/// Folds adapters into a model and writes the result as an ordinary dense model directory.
struct LoRAMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Write a model with adapters folded in: W + scale · (alpha / r) · (B A)ᵀ for every adapted matrix.")

    @Option(help: "The base model (directory, or a .gguf file, dequantized to Float32).") var model: String
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions
    @Option(help: "Output model directory.") var out: String
    @Flag(help: "Replace a model already in --out.") var overwrite = false

    func validate() throws {
        guard !adapters.adapter.isEmpty else { throw ValidationError("give at least one --adapter DIR to merge") }
        guard !out.isEmpty else { throw ValidationError("--out must name a directory (got an empty path)") }
    }

    func run() throws {
        let output = URL(fileURLWithPath: out)
        if ModelDirectory.containsModel(output) && !overwrite {
            throw ValidationError("\(out) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: nil, use: .dense)
        try ModelDirectory.save(gpt, tokenizer: tokenizer, to: output)
        print("merged \(Terminal.counted(adapters.adapter.count, "adapter")) into \(model); saved to \(output.path)")
    }
}
