import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
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
    @Flag(help: "Recognise special tokens such as <|endoftext|> in the text (default: ordinary text).")
    var allowSpecial = false
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: self.tokenizer)
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
}
