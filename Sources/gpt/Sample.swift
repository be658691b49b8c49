import ArgumentParser
import Foundation
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a trained model.",
        discussion: """
            Stdout carries the prompt followed by the generated text, streamed as it is produced; \
            several samples are separated by a line '---'. Notices go to stderr.
            """)

    @Option(help: "Model directory.") var model: String
    @Option(help: "Prompt text.") var prompt: String?
    @Option(help: "Read the prompt from a file ('-' for stdin).") var promptFile: String?
    @Option(help: "Tokens to generate per sample.") var maxTokens = 256
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 1.0
    @Option(help: "Sample only among the k most likely tokens.") var topK: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(help: "Number of samples.") var numSamples = 1
    @Option(help: "Use this tokenizer (FILE or DIR) instead of the model's.") var tokenizer: String?
    @Flag(help: "Recognise special tokens such as <|endoftext|> in the text (default: ordinary text).")
    var allowSpecial = false
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if prompt != nil && promptFile != nil { throw ValidationError("give --prompt or --prompt-file, not both") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1 (got \(maxTokens))") }
        if !(temperature >= 0 && temperature.isFinite) {
            throw ValidationError("--temperature must be 0 (greedy) or positive (got \(temperature))")
        }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1 (got \(topK))") }
        if numSamples < 1 { throw ValidationError("--num-samples must be at least 1 (got \(numSamples))") }
    }

    func run() throws {
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: model, tokenizer: self.tokenizer)
        let promptText = try readPrompt()
        var promptTokens = try promptText.map { try tokenizer.encode($0, specialTokens: allowSpecial ? .allowed : .ordinary, threads: 1) } ?? []
        if promptTokens.isEmpty { promptTokens = [tokenizer.endOfTextToken ?? tokenizer.startToken] }
        let window = gpt.configuration.contextLength
        if promptTokens.count > window {
            Terminal.notice(
                "note: the prompt has \(promptTokens.count) tokens; keeping the last \(window) (the context length)")
        }
        let generator = TextGenerator(model: gpt, parallelism: threads.parallelism)
        let sampler = Sampler(temperature: temperature, topK: topK)
        var random = Generator(seed: seed)
        for sample in 0..<numSamples {
            if sample > 0 { Terminal.write("\n---\n") }
            Terminal.write(promptText ?? "")
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            try generator.generate(
                prompt: promptTokens, maxTokens: maxTokens, sampler: sampler, generator: &random
            ) { token in
                Terminal.write(decoder.append(token))
                return true
            }
            Terminal.write(decoder.finish())
        }
        Terminal.write("\n")
    }

    private func readPrompt() throws -> String? {
        if let prompt { return prompt }
        guard let promptFile else { return nil }
        let data: Data?
        if promptFile == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: promptFile)
        }
        guard let data else { throw ValidationError("prompt file \(promptFile) not found or unreadable") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("prompt file \(promptFile) is not valid UTF-8 text")
        }
        return text
    }
}
