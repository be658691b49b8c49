import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTokenizer
import GPTTraining

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model on a text file: mean loss, perplexity and bits per byte.",
        discussion: """
            The text is cut into windows of the context length T starting at 0, T, 2T, …; each window \
            predicts its next tokens, so every token after the first is scored exactly once.
            """)

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "Text to score (UTF-8).") var data: String
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Option(parsing: .unconditional, help: "Sliding windows every S tokens (1 ≤ S ≤ T), each scoring only targets not scored before, with up to T tokens of context.")
    var stride: Int?
    @Option(help: "Use this tokenizer (FILE or DIR) instead of the model's.") var tokenizer: String?
    @Option(help: "Also compare with this model (DIR or .gguf, e.g. the original of a quantized one): its perplexity, the mean KL divergence from its next-token distributions, and how often the top tokens agree.")
    var klReference: String?
    @Flag(help: "Recognise special tokens such as <|endoftext|> in the text (default: ordinary text).")
    var allowSpecial = false
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if klReference != nil && stride != nil {
            throw ValidationError("--kl-reference scores windows of the context length; it does not take --stride")
        }
    }

    func run() throws {
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: self.tokenizer)
        if let klReference {
            try compare(gpt, tokenizer: tokenizer, reference: klReference)
            return
        }
        let text = try TextFile.read(data)
        let parallelism = threads.parallelism
        let ids = try tokenizer.encode(text, specialTokens: allowSpecial ? .allowed : .ordinary, threads: parallelism.threads)
        let line = ProgressLine(unit: "tokens")
        let progress = { (done: Int, total: Int) in line.update(done: done, total: total) }
        let tokens = ids.map(Int32.init)
        let result = try stride.map {
            try SequenceEvaluation.evaluate(model: gpt, tokens: tokens, stride: $0, parallelism: parallelism, progress: progress)
        } ?? SequenceEvaluation.evaluate(model: gpt, tokens: tokens, parallelism: parallelism, progress: progress)
        line.finish()
        // Bytes covered by the scored targets: everything but the first token.
        let scoredBytes = text.utf8.count - tokenizer.decodeBytes([ids[0]]).count
        let bitsPerByte = result.bitsPerByte(scoredBytes: scoredBytes)
        let tokensPerSecond = Double(result.tokens) / max(result.seconds, 1e-9)
        if json {
            let object: [String: Any] = [
                "loss": result.loss, "perplexity": result.perplexity, "bits_per_byte": bitsPerByte,
                "tokens": result.tokens, "tokens_per_second": tokensPerSecond,
            ]
            print(try JSONLine.encode(object))
        } else {
            print(String(format: "loss:          %.4f", result.loss))
            print(String(format: "perplexity:    %.4f", result.perplexity))
            print(String(format: "bits per byte: %.4f", bitsPerByte))
            print("tokens scored: \(result.tokens) (\(Terminal.grouped(tokensPerSecond)) tokens/s)")
        }
    }

    /// Both models on the same windows: perplexities, mean KL(reference ‖ model), top-token agreement.
    func compare(_ gpt: GPT, tokenizer: any Tokenizer, reference path: String) throws {
        let (reference, referenceTokenizer) = try loadModelAndTokenizer(model: path, tokenizer: self.tokenizer)
        guard try referenceTokenizer.description.encoded() == tokenizer.description.encoded() else {
            throw ValidationError("--kl-reference \(path) has another tokenizer than --model; their distributions are not comparable")
        }
        let text = try TextFile.read(data)
        let parallelism = threads.parallelism
        let ids = try tokenizer.encode(text, specialTokens: allowSpecial ? .allowed : .ordinary, threads: parallelism.threads)
        let line = ProgressLine(unit: "tokens")
        let result = try QuantizationComparison.compare(
            original: reference, quantized: gpt, tokens: ids.map(Int32.init), parallelism: parallelism) { line.update(done: $0, total: $1) }
        line.finish()
        if json {
            let object: [String: Any] = [
                "loss": result.quantizedLoss, "perplexity": result.quantizedPerplexity, "reference_loss": result.originalLoss,
                "reference_perplexity": result.originalPerplexity, "mean_kl_divergence": result.meanKLDivergence,
                "same_top_token": result.sameTopToken, "tokens": result.tokens,
            ]
            print(try JSONLine.encode(object))
        } else {
            print(String(format: "perplexity:     %.4f (reference %.4f, %+.2f%%)", result.quantizedPerplexity, result.originalPerplexity,
                (result.quantizedPerplexity / result.originalPerplexity - 1) * 100))
            print(String(format: "mean KL:        %.6f nats per token, from the reference's distributions", result.meanKLDivergence))
            print(String(format: "same top token: %.2f%%", result.sameTopToken * 100))
            print("tokens scored:  \(result.tokens)")
        }
    }
}
