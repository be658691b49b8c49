import ArgumentParser
import Foundation
import GPTModel

/// `gpt lora …`: what to do with an adapter besides applying it at load (`--adapter`).
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora", abstract: "Work with LoRA adapters (PEFT's format).", subcommands: [LoRAMerge.self, LoRAExport.self])
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

/// Writes an adapter as a llama.cpp LoRA GGUF, for `llama-cli -m BASE.gguf --lora FILE`.
struct LoRAExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an adapter as a llama.cpp LoRA GGUF (llama-cli --lora FILE applies it to the base model's GGUF).")

    @Option(help: "The base model the adapter was trained on (directory or .gguf): its shape is checked.") var model: String
    @Option(help: "The adapter directory (PEFT's format).") var adapter: String
    @Option(help: "Output .gguf file.") var out: String
    @Flag(help: "Replace an existing --out file.") var overwrite = false

    func validate() throws {
        guard out.hasSuffix(".gguf") else { throw ValidationError("--out must name a .gguf file (got \(out))") }
    }

    func run() throws {
        let output = URL(fileURLWithPath: out)
        if FileManager.default.fileExists(atPath: output.path) && !overwrite {
            throw ValidationError("\(out) exists; pass --overwrite to replace it or choose another --out")
        }
        let (gpt, _) = try loadModelAndTokenizer(model: model, tokenizer: nil)
        let loaded = try AdapterDirectory.load(URL(fileURLWithPath: adapter), model: gpt.configuration)
        try LoRAGGUFExport.write(loaded, name: URL(fileURLWithPath: adapter).lastPathComponent, to: output)
        print("wrote \(output.path): \(loaded.layout.tensors.count) tensors (rank \(loaded.rank), alpha \(loaded.configuration.alpha)); apply it with llama-cli -m BASE.gguf --lora \(output.path)")
    }
}
