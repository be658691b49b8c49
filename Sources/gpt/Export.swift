import ArgumentParser
import Foundation
import GPTModel

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a GGUF model back as a model directory (Float32 weights, dequantized), to fine-tune or load in transformers.")

    @Option(help: "A .gguf file (swift-gpt's, or llama.cpp's for a GPT-2 model).") var model: String
    @Option(help: "Output model directory.") var out: String
    @Flag(help: "Replace a model already in --out.") var overwrite = false

    func validate() throws {
        guard GGUFModel.isGGUF(model) else { throw ValidationError("--model must name a .gguf file (got '\(model)'); a model directory needs no export") }
        guard !out.isEmpty else { throw ValidationError("--out must name a directory (got an empty path)") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: out)
        if ModelDirectory.containsModel(directory) && !overwrite {
            throw ValidationError("\(out) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        let types = try GGUFModel.matrixTypes(URL(fileURLWithPath: model))
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: nil, use: .dense)
        try ModelDirectory.save(gpt, tokenizer: tokenizer, to: directory)
        print("wrote \(out): \(Terminal.grouped(Double(gpt.parameterCount))) parameters as Float32 (from \(types.joined(separator: " + ")))")
    }
}
