import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTTraining

/// Runs a prepared trainer with progress, `--log`, Ctrl-C handling and checkpoints; shared
/// by `gpt train`, `gpt finetune` and `gpt distill` (and their `--resume`).
struct TrainingRun {
    let trainer: Trainer
    let tokenizer: (any Tokenizer)?
    let outputDirectory: URL
    /// What `--resume` needs to rebuild this run (saved in the checkpoint).
    let description: RunDescription
    let resume: TrainingCheckpoint?

    var keepBest: Bool { description.keepBest }
    var logPath: String? { description.log }
    var command: String { description.command }

    func run() throws {
        let configuration = trainer.configuration
        let communicator = trainer.communicator
        if communicator.isDistributed { try agreeAcrossRanks() }
        if let resume { try trainer.restore(resume, from: outputDirectory) }
        // Rank 0 alone writes the log.
        let logPath = communicator.isWriter ? logPath : nil
        if let logPath, let resume { try TrainingLog.truncate(path: logPath, after: resume.nextIteration) }
        let logWriter = try logPath.map { try TrainingLog(path: $0, appending: resume != nil) }
        let progress = TrainingProgress(
            maxIterations: configuration.maxIterations, startIteration: resume?.nextIteration ?? 0, log: logWriter)
        if configuration.gradientAccumulation > 1 {
            Terminal.notice(
                "effective batch: \(configuration.batchSize) × \(configuration.gradientAccumulation) accumulation steps = \(configuration.batchSize * configuration.gradientAccumulation) sequences")
        }
        if let notice = BLAS.productsNotice { Terminal.notice("note: \(notice)") }
        if let notice = trainer.precisionNotice {
            Terminal.notice("note: \(notice)")
        } else if trainer.precision == .bf16 {
            Terminal.notice("precision: bf16 products (bf16 inputs, fp32 sums); weights, gradients, optimizer, norms, softmax and attention in fp32")
        }
        if let resume {
            Terminal.notice("resuming after step \(resume.nextIteration) of \(configuration.maxIterations)")
        }
        let interrupt = InterruptFlag()
        let summary = try trainer.run(
            outputDirectory: outputDirectory, tokenizer: tokenizer, runDescription: description,
            resume: resume, shouldStop: { interrupt.isRaised }, onEvent: progress.handle)
        progress.finish()
        let losses = String(format: "train loss %.4f, val loss %.4f", summary.trainingLoss, summary.validationLoss)
        let steps = Terminal.counted(summary.iterations, "step")
        if Terminal.isQuiet {
        } else if summary.interrupted {
            print(summary.iterations == 0 ? "stopped before the first step: \(losses)" : "stopped after \(steps) of \(configuration.maxIterations): \(losses)")
        } else {
            print("final: \(losses) after \(steps)")
        }
        if !Terminal.isQuiet {
            print("saved to \(outputDirectory.path)" + (keepBest ? " (best weights in \(outputDirectory.path)/best)" : ""))
        }
        if summary.interrupted, let signal = interrupt.signal {
            Terminal.notice(
                "interrupted at step \(summary.iterations) of \(configuration.maxIterations); everything is saved — continue with: \(communicator.isDistributed ? "mpirun -np \(communicator.size) " : "")gpt \(command) --resume \(outputDirectory.path)")
            throw ExitCode(128 + signal)  // the shell convention: 130 for Ctrl-C, 143 for SIGTERM
        }
    }

    /// Before a data-parallel run starts: every rank must hold the same configuration, run, data and
    /// starting weights (each compared by SHA-256), and rank 0 says how the work is shared.
    private func agreeAcrossRanks() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var run = description
        run.threads = nil  // each rank may use its own thread count
        func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        let dataset = trainer.dataset
        func fingerprint(_ tokens: TokenSequence) -> String {
            let stride = max(1, tokens.count / 65_536)
            return "\(tokens.count):" + Swift.stride(from: 0, to: tokens.count, by: stride).map { String(tokens[$0]) }.joined(separator: ",")
        }
        let parameters = trainer.trainedParameters
        let sums = UnsafeBufferPointer(start: parameters.pointer, count: parameters.count).reduce(into: (0.0, 0.0)) {
            $0.0 += Double($1)
            $0.1 += Double($1) * Double($1)
        }
        try Ranks.agree(on: [
            ("configuration", try json(trainer.configuration)), ("run settings", try json(run)),
            ("training data", fingerprint(dataset.training) + "|" + fingerprint(dataset.validation)),
            ("starting weights", "\(sums.0.bitPattern) \(sums.1.bitPattern)"),
            ("precision", trainer.precision.rawValue),
            ("checkpoint", resume.map { "\($0.nextIteration) \($0.optimizerStep)" } ?? "none"),
        ])
        let communicator = trainer.communicator
        let configuration = trainer.configuration
        var sharing = ""
        if description.shardOptimizer {
            let bytes = Double(trainer.optimizer.owned.count * trainer.optimizer.settings.bufferNames.count * 4)
            sharing = "; optimizer state sharded: \(Terminal.bytes(bytes)) per rank"
        }
        Terminal.notice(
            "data-parallel: \(communicator.size) ranks (\(communicator.library ?? "MPI")) × \(Terminal.counted(trainer.context.parallelism.threads, "thread")), gradients through \(trainer.exchangeMethod); global batch \(configuration.batchSize) × \(configuration.gradientAccumulation) accumulation × \(communicator.size) ranks = \(trainer.globalMicroBatches * configuration.batchSize) sequences\(sharing)")
    }

    /// Refuses a batch that does not fit in memory as a usage error (the flags chose it), before
    /// the output directory is touched.
    static func requireMemory(model: GPTConfiguration, training: TrainingConfiguration) throws {
        do {
            try TrainingSession.requireMemory(
                configuration: model, batch: training.batchSize, length: training.contextLength, training: true)
        } catch let error as ModelError {
            throw ValidationError(error.message)
        }
    }

    /// The threads a resumed run uses: the recorded count unless `--threads` is given (the work
    /// split, and so bit-identity with an uninterrupted run, depends on it).
    static func parallelism(resuming run: RunDescription, options: ThreadOptions) -> Parallelism {
        guard let given = options.threads else { return Parallelism(threads: run.threads ?? options.count) }
        if let recorded = run.threads, recorded != given {
            Terminal.notice(
                "note: this run used \(Terminal.counted(recorded, "thread")); it continues with \(given), but its losses will no longer be bit-identical to an uninterrupted run")
        }
        return Parallelism(threads: given)
    }

    /// The checkpoint in `directory`, checked to come from `command`.
    static func checkpoint(in directory: String, command: String) throws -> TrainingCheckpoint {
        let checkpoint = try TrainingCheckpoint.read(from: URL(fileURLWithPath: directory))
        let kind = checkpoint.run.command
        guard kind == command else {
            throw ValidationError("\(directory) was made by gpt \(kind); resume it with gpt \(kind) --resume \(directory)")
        }
        return checkpoint
    }

    /// The saved configuration, with `--max-iters` raised if asked. Resumed on another number of
    /// ranks, the micro-batches per step (ranks × `--grad-accum`) must stay the same, so that the
    /// same batches are drawn: `gradientAccumulation` then sets the new accumulation.
    static func configuration(
        of checkpoint: TrainingCheckpoint, maxIterations: Int?, gradientAccumulation: Int? = nil
    ) throws -> TrainingConfiguration {
        var configuration = checkpoint.configuration
        let recordedRanks = checkpoint.run.ranks ?? 1
        let ranks = Ranks.communicator.size
        let microBatches = recordedRanks * configuration.gradientAccumulation
        if let gradientAccumulation { configuration.gradientAccumulation = gradientAccumulation }
        guard ranks * configuration.gradientAccumulation == microBatches else {
            let advice = microBatches % ranks == 0
                ? "resume with --grad-accum \(microBatches / ranks)"
                : "resume on a number of ranks that divides \(microBatches)"
            throw ValidationError(
                "this run drew \(microBatches) micro-batches per step (\(Terminal.counted(recordedRanks, "rank")) × --grad-accum \(checkpoint.configuration.gradientAccumulation)); on \(Terminal.counted(ranks, "rank")) with --grad-accum \(configuration.gradientAccumulation) it would draw \(ranks * configuration.gradientAccumulation): \(advice)")
        }
        if let maxIterations {
            guard maxIterations >= configuration.maxIterations else {
                throw ValidationError("--max-iters can only be raised when resuming (saved: \(configuration.maxIterations), asked: \(maxIterations))")
            }
            configuration.maxIterations = maxIterations
        }
        try configuration.validate()
        return configuration
    }
}

/// `--resume DIR` and the rule that a resumed run takes no other settings.
struct ResumeOptions: ParsableArguments {
    @Option(help: "Continue the run checkpointed in DIR exactly where it stopped (only --max-iters may be raised).")
    var resume: String?
}

/// Shows training progress: a live line on a terminal, plain lines otherwise, and JSON lines with --log.
final class TrainingProgress {
    let maxIterations: Int
    let startIteration: Int
    let log: TrainingLog?
    private var lastDraw = 0.0
    private var liveLineShown = false

    init(maxIterations: Int, startIteration: Int, log: TrainingLog?) {
        self.maxIterations = maxIterations
        self.startIteration = startIteration
        self.log = log
    }

    func handle(_ event: TrainingEvent) {
        log?.record(event)
        if Terminal.isQuiet { return }
        switch event {
        case .step(let done, let loss, let learningRate, let tokensPerSecond, let elapsed):
            let remaining = elapsed / Double(max(1, done - startIteration)) * Double(maxIterations - done)
            // Formatted only when shown (a step is often shorter than a redraw interval).
            func line() -> String {
                String(
                    format: "step %d/%d | loss %.4f | lr %.2e | %@ tok/s | %@ elapsed | ETA %@", done, maxIterations, loss,
                    learningRate, Terminal.grouped(tokensPerSecond), Terminal.duration(elapsed), Terminal.duration(remaining))
            }
            if Terminal.standardErrorIsTerminal {
                let now = monotonicSeconds()
                if now - lastDraw > 0.1 || done == maxIterations {
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(line())".utf8))
                    liveLineShown = true
                    lastDraw = now
                }
            } else if done % 10 == 0 || done == maxIterations {
                Terminal.notice(line())
            }
        case .skipped(let step, let loss, let norm):
            clearLiveLine()
            Terminal.notice(String(format: "warning: step %d had loss %@ and gradient norm %@; its update was skipped", step, "\(loss)", "\(norm)"))
        case .evaluation(let step, let trainingLoss, let validationLoss):
            clearLiveLine()
            Terminal.notice(String(format: "eval at step %d: train loss %.4f, val loss %.4f", step, trainingLoss, validationLoss))
        case .saved, .checkpoint:
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
