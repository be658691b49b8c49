import ArgumentParser
import Foundation
import GPTModel
import GPTServer
import GPTTensor
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over HTTP with OpenAI's API and continuous batching.",
        discussion: """
            Endpoints: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, POST /tokenize, \
            POST /detokenize, GET /health, GET /metrics, and the playground at GET / (with the \
            /inspect/next-token, /inspect/attention and /inspect/embeddings its pictures read). Every running request decodes in one batched step per token; \
            the same request with the same seed returns the same text alone or among others. \
            Stops on SIGTERM or Ctrl-C after the requests in flight finish (within --timeout).
            """)

    @Option(help: "Model directory (ours, or a Hugging Face GPT-2 directory), or a .gguf file.") var model: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to listen on (0: any free port).") var port = 8080
    @Option(parsing: .unconditional, help: "Sequences decoded together; each gets a full-context key/value cache at start.")
    var parallel = 8
    @Option(parsing: .unconditional, help: "Requests allowed to wait for a free sequence; more are refused with 429.")
    var maxQueue = 64
    @Option(parsing: .unconditional, help: "Seconds a request may take, waiting included.") var timeout: Double = 600
    @Option(help: "Require 'Authorization: Bearer KEY' (default: $SWIFT_GPT_API_KEY; /health stays open).") var apiKey: String?
    @Option(help: "Allow browsers from this origin ('*' for any); off by default.") var cors: String?
    @Option(help: "The model id the API reports (default: the model directory's or file's name).") var alias: String?
    @Option(help: "A Mustache template for chat messages (default: ChatML).") var chatTemplate: String?
    @Option(help: "Use this tokenizer (FILE or DIR) instead of the model's.") var tokenizer: String?
    @OptionGroup(title: "Adapters") var adapters: AdapterOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535 (got \(port))") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 256 (got \(parallel))") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be 0 or more (got \(maxQueue))") }
        guard timeout > 0 && timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds (got \(timeout))") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        let template = try chatTemplate.map { try ChatTemplate(contentsOf: URL(fileURLWithPath: $0)) } ?? ChatTemplate()
        let (gpt, tokenizer) = try adapters.load(model: model, tokenizer: self.tokenizer)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.parallel = parallel
        configuration.maxQueue = maxQueue
        configuration.timeout = timeout
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["SWIFT_GPT_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.corsOrigin = cors
        configuration.alias = alias ?? URL(fileURLWithPath: model).standardizedFileURL.lastPathComponent
        let server = try ModelServer(
            model: gpt, tokenizer: tokenizer, configuration: configuration, chatTemplate: template, parallelism: threads.parallelism)
        let cacheBytes = Double(server.scheduler.cacheBytes)
        Terminal.notice(
            "\(configuration.alias): \(gpt.parameterCount) parameters, context \(gpt.configuration.contextLength); \(parallel) sequences × full-context key/value caches = \(Terminal.bytes(cacheBytes))")
        let host = host
        var logger = Logger(label: "gpt-serve")
        logger.logLevel = .warning  // our own lines say where it listens
        try await server.run(logger: logger) { port in
            Terminal.notice("listening on http://\(host):\(port) (OpenAI API under /v1; Ctrl-C stops)")
        }
        Terminal.notice("stopped")
    }
}
