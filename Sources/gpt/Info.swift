import ArgumentParser
import Foundation
import GPTModel

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a model's configuration, size and tokenizer.")

    @Option(help: "Model directory, or a .gguf file.") var model: String

    func run() throws {
        let directory = URL(fileURLWithPath: model)
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: nil)
        let c = gpt.configuration
        print("model:          \(directory.path)")
        print("type:           \(c.isGPT2Compatible ? "gpt2 (loads in Hugging Face transformers)" : "swift-gpt")")
        print("parameters:     \(Terminal.grouped(Double(gpt.parameterCount)))")
        print("layers:         \(c.layerCount)")
        print("heads:          \(c.headCount)")
        print("embedding size: \(c.embeddingSize)")
        print("context length: \(c.contextLength)")
        print("vocabulary:     \(c.vocabularySize)")
        print("positions:      \(c.position.rawValue)")
        print("normalization:  \(c.normalization.rawValue)-norm")
        print("activation:     \(c.activation.rawValue)")
        print("biases:         \(c.usesBias ? "on" : "off")")
        print("unembedding:    \(c.tiesEmbeddings ? "tied to the token embedding" : "separate")")
        print("dropout:        \(c.residualDropout) (training only)")
        print("tokenizer:      \(tokenizer.kind)")
        if GGUFModel.isGGUF(model) {
            let size = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
            print("weights:        \(try GGUFModel.matrixTypes(directory).joined(separator: " + ")) matrices, \(Terminal.bytes(Double(size))) GGUF")
        }
    }
}
