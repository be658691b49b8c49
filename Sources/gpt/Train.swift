import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from scratch on a text file (or the embedded default corpus).",
        discussion: """
            Settings resolve as: defaults < --preset < --config FILE.json < flags. The model directory \
            gets config.json, model.safetensors and the tokenizer, rewritten atomically at every evaluation.
            """)

    @OptionGroup(title: "Data") var data: DataOptions
    @Option(help: "Output model directory.") var out: String
    @Flag(help: "Replace a model already in --out.") var overwrite = false
    @Flag(help: "Also keep the best-by-validation weights in DIR/best/.") var keepBest = false
    @Option(help: "Write JSON lines (one per step and per evaluation) to this file.") var log: String?
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        let configuration = try options.resolve(model: model, training: training)
        let outputDirectory = URL(fileURLWithPath: out)
        if ModelDirectory.containsModel(outputDirectory) && !overwrite {
            throw ValidationError("\(out) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        try AtomicFile.createDirectory(outputDirectory)

        // Data and tokenizer (text is tokenized once into a cached token file).
        let parallelism = threads.parallelism
        let (dataset, tokenizer, vocabularySize, description) = try data.prepare(
            outputDirectory: outputDirectory, threads: parallelism.threads)
        try dataset.validate(contextLength: configuration.contextLength)

        var generator = Generator(seed: configuration.seed)
        let gpt = try GPTModel(
            configuration: configuration.modelConfiguration(vocabularySize: vocabularySize), generator: &generator)
        let trainer = Trainer(model: gpt, dataset: dataset, configuration: configuration, parallelism: parallelism)
        Terminal.notice("training on \(description)")
        Terminal.notice(
            "\(Terminal.grouped(Double(dataset.training.count))) training and \(Terminal.grouped(Double(dataset.validation.count))) validation tokens, vocabulary \(vocabularySize)")
        Terminal.notice(
            "model: \(configuration.layers) layers, \(configuration.heads) heads, \(configuration.embeddingSize) dims, context \(configuration.contextLength), \(Terminal.grouped(Double(gpt.parameterCount))) parameters; \(trainer.context.parallelism.threads) threads")
        if tokenizer == nil {
            Terminal.notice("note: no tokenizer is saved with the model; pass --tokenizer to sample and eval")
        }

        let logWriter = try log.map { try JSONLinesLog(path: $0) }
        let progress = TrainingProgress(maxIterations: configuration.maxIterations, log: logWriter)
        let interrupt = InterruptFlag()
        let summary = try trainer.run(
            outputDirectory: outputDirectory, tokenizer: tokenizer, keepBest: keepBest,
            shouldStop: { interrupt.isRaised }, onEvent: progress.handle)
        progress.finish()
        print(String(format: "final: train loss %.4f, val loss %.4f after %d iterations", summary.trainingLoss, summary.validationLoss, summary.iterations))
        print("saved to \(outputDirectory.path)" + (keepBest ? " (best weights in \(outputDirectory.path)/best)" : ""))
        if summary.interrupted, let signal = interrupt.signal {
            Terminal.notice("interrupted at iteration \(summary.iterations) of \(configuration.maxIterations); the model so far is saved in \(outputDirectory.path)")
            throw ExitCode(128 + signal)  // the shell convention: 130 for Ctrl-C, 143 for SIGTERM
        }
    }
}

/// Shows training progress: a live line on a terminal, plain lines otherwise, and JSON lines with --log.
final class TrainingProgress {
    let maxIterations: Int
    let log: JSONLinesLog?
    private var lastDraw = 0.0
    private var liveLineShown = false

    init(maxIterations: Int, log: JSONLinesLog?) {
        self.maxIterations = maxIterations
        self.log = log
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .step(let iteration, let loss, let learningRate, let tokensPerSecond, let elapsed):
            log?.write([
                "type": "step", "iter": iteration, "loss": loss, "lr": learningRate,
                "tokens_per_second": tokensPerSecond,
            ])
            let done = iteration + 1
            let remaining = elapsed / Double(done) * Double(maxIterations - done)
            let line = String(
                format: "iter %d/%d | loss %.4f | lr %.2e | %@ tok/s | %@ elapsed | ETA %@", done, maxIterations, loss,
                learningRate, Terminal.grouped(tokensPerSecond), Terminal.duration(elapsed), Terminal.duration(remaining))
            if Terminal.standardErrorIsTerminal {
                let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
                if now - lastDraw > 0.1 || done == maxIterations {
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
                    liveLineShown = true
                    lastDraw = now
                }
            } else if done % 10 == 0 || done == maxIterations {
                Terminal.notice(line)
            }
        case .evaluation(let iteration, let trainingLoss, let validationLoss):
            log?.write(["type": "eval", "iter": iteration, "train_loss": trainingLoss, "val_loss": validationLoss])
            clearLiveLine()
            Terminal.notice(String(format: "eval at iter %d: train loss %.4f, val loss %.4f", iteration, trainingLoss, validationLoss))
        case .saved:
            break
        }
    }

    func finish() {
        clearLiveLine()
    }

    private func clearLiveLine() {
        if liveLineShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            liveLineShown = false
        }
    }
}

/// A JSON-lines file, each line flushed as written; non-finite numbers become null.
final class JSONLinesLog {
    private let handle: FileHandle

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) , let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot write the log file \(path); choose a writable path")
        }
        self.handle = handle
    }

    func write(_ fields: [String: Any]) {
        var object: [String: Any] = [:]
        for (key, value) in fields {
            switch value {
            case let number as Float: object[key] = number.isFinite ? Double(number) as Any : NSNull()
            case let number as Double: object[key] = number.isFinite ? number as Any : NSNull()
            default: object[key] = value
            }
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        handle.write(data)
        try? handle.synchronize()
    }
}
