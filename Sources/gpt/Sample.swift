import ArgumentParser
import Foundation
import GPTFormats
import GPTGeneration
import GPTModel
import GPTTensor
import GPTTokenizer

struct Sample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a trained model (KV-cached; every sampler; beam search).",
        discussion: """
            Stdout carries the prompt followed by the generated text, streamed as it is produced; \
            several samples are separated by a line '---'; notices, logprobs and statistics go to stderr. \
            --json prints one JSON object per sample instead. Logit processors run in the order of \
            --samplers (default penalties,top-k,typical-p,top-p,min-p,temperature), after --logit-bias.
            """)

    @Option(help: "Model directory (ours, or a Hugging Face GPT-2 directory), or a .gguf file.") var model: String
    @Option(help: "Prompt text.") var prompt: String?
    @Option(help: "Read the prompt from a file ('-' for stdin).") var promptFile: String?
    @Option(parsing: .unconditional, help: "Tokens to generate per sample.") var maxTokens = 256
    @OptionGroup(title: "Sampling") var sampling: SamplingOptions
    @Option(help: "Stop when this string is generated (repeatable); it is not printed.") var stop: [String] = []
    @Flag(help: "Keep generating past the end-of-text token.") var ignoreEos = false
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1337
    @Option(parsing: .unconditional, help: "Number of samples.") var numSamples = 1
    @Option(parsing: .unconditional, help: "Per token, the chosen token's log-probability and the N most likely alternatives (0–20).")
    var logprobs: Int?
    @Flag(help: "Print distinct-1/2/3, the repeated 4-gram rate and the mean log-probability of each sample.")
    var stats = false
    @Flag(help: "One JSON object per sample: text, tokens, finish_reason, and logprobs/statistics when asked.")
    var json = false
    @Option(help: "When the context fills: slide (keep the last half, re-encode) or stop.") var contextPolicy = ContextPolicy.slide
    @OptionGroup(title: "Beam search") var beams: BeamOptions
    @Option(help: "Use this tokenizer (FILE or DIR) instead of the model's.") var tokenizer: String?
    @Flag(help: "Recognise special tokens such as <|endoftext|> in the prompt (default: ordinary text).")
    var allowSpecial = false
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if prompt != nil && promptFile != nil { throw ValidationError("give --prompt or --prompt-file, not both") }
        if numSamples < 1 { throw ValidationError("--num-samples must be at least 1 (got \(numSamples))") }
        if numSamples > 1 && beams.numBeams > 1 {
            throw ValidationError("--num-samples is for sampling; beam search returns its best hypotheses with --num-return K")
        }
        try FlagNames.translating { try options.validate() }
    }

    var options: GenerationOptions {
        get throws {
            var options = GenerationOptions()
            options.maxTokens = maxTokens
            options.sampling = try sampling.parameters
            options.stopSequences = stop
            options.ignoreEndOfText = ignoreEos
            options.logprobs = logprobs ?? (stats ? 0 : nil)
            options.contextPolicy = contextPolicy
            return options
        }
    }

    func run() async throws {
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: self.tokenizer)
        let promptText = try readPrompt()
        var promptTokens = try promptText.map {
            try tokenizer.encode($0, specialTokens: allowSpecial ? .allowed : .ordinary, threads: 1)
        } ?? []
        if promptTokens.isEmpty { promptTokens = [tokenizer.endOfTextToken ?? tokenizer.startToken] }
        let window = gpt.configuration.contextLength
        if promptTokens.count > window {
            Terminal.notice(
                "note: the prompt has \(promptTokens.count) tokens; keeping the last \(window) (the context length)")
        }
        let generator = TextGenerator(model: gpt, tokenizer: tokenizer, parallelism: threads.parallelism)
        if beams.numBeams > 1 {
            try runBeamSearch(generator, prompt: promptTokens, promptText: promptText ?? "")
            return
        }
        var options = try self.options
        options.sampling = try sampling.parameters(tokenizer: tokenizer, vocabularySize: gpt.configuration.vocabularySize)
        var random = RandomGenerator(seed: seed)
        for sample in 0..<numSamples {
            // Each sample draws from its own seed, taken from --seed's stream, whatever the output mode.
            let sampleSeed = random.next()
            if json {
                var sampleRandom = RandomGenerator(seed: sampleSeed)
                let result = try generator.generate(prompt: promptTokens, options: options, generator: &sampleRandom)
                print(try SampleOutput.json(result, tokenizer: tokenizer, includeLogprobs: logprobs != nil, stats: stats))
                continue
            }
            if sample > 0 { Terminal.write("\n---\n") }
            Terminal.write(promptText ?? "")
            // The streaming API: print pieces as they arrive.
            var result: GenerationResult?
            for try await event in generator.stream(prompt: promptTokens, options: options, seed: sampleSeed) {
                Terminal.write(event.text)
                if let final = event.result { result = final }
            }
            if let result {
                if logprobs != nil { SampleOutput.printLogprobs(result, tokenizer: tokenizer) }
                if stats { SampleOutput.printStatistics(result) }
                if result.finishReason == .context { Terminal.notice("\nnote: stopped: the context is full") }
            }
        }
        if !json { Terminal.write("\n") }
    }

    private func runBeamSearch(_ generator: TextGenerator, prompt: [Int], promptText: String) throws {
        var options = BeamSearchOptions()
        options.beams = beams.numBeams
        options.maxTokens = maxTokens
        options.lengthPenalty = beams.lengthPenalty
        options.earlyStopping = beams.earlyStopping
        options.returnCount = beams.numReturn ?? 1
        options.ignoreEndOfText = ignoreEos
        options.stopSequences = stop
        options.logprobs = logprobs
        let hypotheses = try generator.beamSearch(prompt: prompt, options: options)
        let context = generator.model.configuration.contextLength
        let room = context - min(prompt.count, context - 1)
        if maxTokens > room {
            Terminal.notice("note: beam search stops after \(room) tokens: the prompt leaves that much of the \(context)-token context")
        }
        for (index, hypothesis) in hypotheses.enumerated() {
            if json {
                var object: [String: Any] = [
                    "text": hypothesis.text, "tokens": hypothesis.tokens, "score": Double(hypothesis.score),
                    "logprob_sum": Double(hypothesis.logprobSum), "rank": index + 1,
                    "finish_reason": hypothesis.finishReason.rawValue,
                ]
                if logprobs != nil { object["logprobs"] = SampleOutput.logprobsJSON(hypothesis.logprobs, tokenizer: generator.tokenizer) }
                print(try JSONLine.encode(object))
            } else {
                if index > 0 { Terminal.write("\n---\n") }
                Terminal.write(promptText + hypothesis.text)
                Terminal.notice(String(format: "\nbeam %d: score %.4f, log-probability %.4f, %d tokens, finished by %@", index + 1, hypothesis.score, hypothesis.logprobSum, hypothesis.tokens.count, hypothesis.finishReason.rawValue))
                if logprobs != nil { SampleOutput.printLogprobs(hypothesis.logprobs, tokenizer: generator.tokenizer) }
            }
        }
        if !json { Terminal.write("\n") }
    }

    /// The most a prompt may hold, in bytes.
    static let promptLimit = 64 << 20

    private func readPrompt() throws -> String? {
        if let prompt { return prompt }
        guard let promptFile else { return nil }
        // A prompt longer than the context is cut to its end anyway; a stream (stdin, /dev/zero,
        // a pipe) is read up to a cap instead of without limit.
        guard promptFile == "-" || FileManager.default.fileExists(atPath: promptFile) else {
            throw ValidationError("prompt file \(promptFile) not found")
        }
        let data = try TextFile.bytes(of: promptFile, limit: Self.promptLimit)
        guard data.count <= Self.promptLimit else {
            throw ValidationError("prompt file \(promptFile) is larger than \(Self.promptLimit >> 20) MiB; give a shorter prompt")
        }
        let text = try TextFile.decode(data, source: "prompt file \(promptFile)")
        return text
    }
}

extension ContextPolicy: ExpressibleByArgument {}
