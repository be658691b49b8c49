import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer

/// What a training run reports as it goes. One numbering throughout: `step` counts the
/// optimisation steps done when the event happens — step 1 is the first update, an evaluation at
/// step 0 comes before any, and `--max-iters N` ends at step N.
public enum TrainingEvent: Sendable {
    /// The `step`-th optimisation step (1-based). `tokensPerSecond` counts only the step itself
    /// (not evaluation or saving).
    case step(step: Int, loss: Float, learningRate: Float, tokensPerSecond: Double, elapsed: Double)
    /// The `step`-th step had a non-finite loss or gradient norm: its update was skipped.
    case skipped(step: Int, loss: Float, gradientNorm: Float)
    /// Mean losses over `--eval-iters` random batches of each split, after `step` steps.
    case evaluation(step: Int, trainingLoss: Float, validationLoss: Float)
    /// Weights were written to this directory.
    case saved(directory: URL, best: Bool)
    /// A checkpoint for exact resume was written; training continues at `nextIteration`.
    case checkpoint(nextIteration: Int)
}

/// Time spent in each phase of one step, in seconds.
public struct StepTiming: Sendable {
    public var forward = 0.0
    /// Backward, including the data-parallel exchange started and progressed while it runs (`communication`).
    public var backward = 0.0
    public var optimizer = 0.0
    /// Data-parallel runs: seconds inside MPI while backward ran (starting and progressing sums) …
    public var communication = 0.0
    /// … and seconds waiting for the exchange after backward (the part not hidden behind it), in `optimizer`.
    public var wait = 0.0
    public var total: Double { forward + backward + optimizer }

    public init(forward: Double = 0, backward: Double = 0, optimizer: Double = 0) {
        self.forward = forward
        self.backward = backward
        self.optimizer = optimizer
    }
}

/// How a run ended.
public struct TrainingSummary: Sendable {
    public let iterations: Int
    public let trainingLoss: Float
    public let validationLoss: Float
    public let bestValidationLoss: Float
    public let interrupted: Bool
}

/// Trains a model: gradient accumulation, clipping, the configured optimizer and schedule,
/// evaluation every `evalInterval` steps, atomic saves, and checkpoints for exact resume —
/// alone or as one rank of a data-parallel run.
///
/// A step's global batch is `ranks × gradAccum` micro-batches, each drawn (data and dropout) from
/// a generator seeded by (seed, step, micro-batch index) alone; rank r takes micro-batches
/// r·A … r·A + A − 1. So a run is the same whatever rank or order computes a micro-batch, and
/// spreading one global batch over more ranks and less accumulation leaves its data unchanged.
public final class Trainer {
    /// Consecutive non-finite steps after which the run stops.
    public static let nonFiniteLimit = 5

    public let model: GPT
    /// The adapter trained over the frozen model, when fine-tuning with LoRA.
    public let adapter: LoRAAdapter?
    public let dataset: TokenDataset
    public let configuration: TrainingConfiguration
    public let optimizer: Optimizer
    /// The training passes' buffers and gradients.
    public let session: TrainingSession
    /// The precision the products run in: the configured one, or fp32 where bf16 cannot run.
    public let precision: Precision
    /// Why the configured precision does not run here (nil when it does): one line for the user.
    public let precisionNotice: String?
    public var context: KernelContext { session.context }
    public let distillation: Distillation?
    /// The teacher's forward passes (same kernel context: they never run at the same time).
    private let teacherSession: TrainingSession?
    /// Parameters that are not trained (fine-tuning), as ranges of the layout.
    private let frozen: [Range<Int>]
    /// The ranks this trainer works with, and the gradient exchange between them.
    public let dataParallelism: DataParallelism
    public var communicator: Communicator { dataParallelism.communicator }
    private let exchange: GradientExchange
    private var inputs: [Int32] = []
    private var targets: [Int32] = []
    private var distillationLosses: [Float] = []

    /// With an `adapter`, only the adapter is trained (and saved, in PEFT's format); `freezing` must then be empty.
    public init(
        model: GPT, adapter: LoRAAdapter? = nil, dataset: TokenDataset, configuration: TrainingConfiguration,
        parallelism: Parallelism, freezing: Freezing = Freezing(), distillation: Distillation? = nil,
        kernelLevel: KernelLevel = .best, dataParallelism: DataParallelism = .single
    ) throws {
        let tied = model.configuration.tiesEmbeddings
        let isTrainable = { (tensor: ParameterTensor) in adapter != nil || freezing.isTrainable(tensor, tiedEmbeddings: tied) }
        self.model = model
        self.adapter = adapter
        self.dataset = dataset
        self.configuration = configuration
        let layout = adapter?.layout ?? model.layout
        self.dataParallelism = dataParallelism
        exchange = try GradientExchange(parallelism: dataParallelism, count: layout.count)
        optimizer = Optimizer(
            layout: layout, settings: configuration.optimizerSettings, isTrainable: isTrainable, owned: exchange.owned)
        frozen = layout.tensors.filter { !isTrainable($0) }.map { $0.offset..<($0.offset + $0.count) }
        var (precision, notice) = configuration.precision.resolved(at: kernelLevel)
        if precision == .bf16 && !model.storesMatrices {
            (precision, notice) = (.fp32, "bf16 products need the model's own fp32 matrices, not a quantized file's: training in fp32")
        }
        self.precision = precision
        precisionNotice = notice
        let session = TrainingSession(
            model: model, adapter: adapter, context: KernelContext(parallelism: parallelism, level: kernelLevel),
            gradientStorage: exchange.storage, precision: precision)
        self.session = session
        teacherSession = distillation.map { TrainingSession(model: $0.teacher, context: session.context) }
        self.distillation = distillation
    }

    /// The generator of micro-batch `index` of step `iteration`'s global batch: its windows, then its dropout seed.
    public static func microBatchGenerator(seed: UInt64, iteration: Int, index: Int) -> RandomGenerator {
        RandomGenerator(seed: RandomGenerator.seed(combining: seed, 0x5EED_DA7A, UInt64(iteration), UInt64(index)))
    }

    /// How gradients travel between ranks (for the user).
    public var exchangeMethod: String { exchange.method }

    /// Seconds of one exchange of the whole gradient buffer as a step does it, every rank starting
    /// together (a barrier first): for benchmarks, after their steps (it changes the gradients).
    public func timeGradientExchange() throws -> Double {
        try communicator.barrier()
        let start = monotonicSeconds()
        exchange.begin()
        _ = try exchange.finish(gradients: session.trainedGradients, microBatches: 1, context: context)
        return monotonicSeconds() - start
    }

    /// Micro-batches per optimisation step over all ranks.
    public var globalMicroBatches: Int { configuration.gradientAccumulation * communicator.size }

    /// One optimisation step at `iteration`: `gradAccum` forward/backward passes, clipping and the
    /// update. Returns the mean loss; a non-finite loss or gradient norm skips the update.
    public func step(iteration: Int, timing: inout StepTiming) throws -> Float {
        try step(iteration: iteration, timing: &timing, stoppingWhen: { false })!
    }

    /// The step, abandoned when `shouldStop` turns true: alone, between micro-batches; over several
    /// ranks, after the gradients are exchanged, when it turned true on any rank. Then nothing is
    /// updated (a checkpoint written next resumes exactly) and the result is nil.
    public func step(iteration: Int, timing: inout StepTiming, stoppingWhen shouldStop: () -> Bool) throws -> Float? {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        let micro = configuration.gradientAccumulation
        session.zeroGradients()
        var lossSum = 0.0
        for index in 0..<micro {
            if index > 0 && !communicator.isDistributed && shouldStop() { return nil }
            var generator = Self.microBatchGenerator(seed: configuration.seed, iteration: iteration, index: communicator.rank * micro + index)
            dataset.sampleBatch(.training, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &generator)
            let dropoutSeed = generator.next()
            var start = monotonicSeconds()
            var loss = try session.loss(
                tokens: inputs, targets: targets, batch: B, length: T, training: true, dropoutSeed: dropoutSeed)
            // The last micro-batch's backward starts the exchange of each bucket it finishes.
            let isLast = index == micro - 1
            if isLast { exchange.begin() }
            var exchangeError: (any Error)?
            let gradientsFinal: ((Int) -> Void)? = isLast && exchange.overlaps ? { [exchange, session] offset in
                do { try exchange.gradientsFinal(from: offset, gradients: session.gradients.pointer) } catch { exchangeError = error }
            } : nil
            if let distillation, let teacherSession {
                // The teacher runs forward only; the student's loss and d logits come from one kernel.
                try teacherSession.forward(tokens: inputs, batch: B, length: T)
                let teacherLogits = teacherSession.allLogits
                let V = model.configuration.vocabularySize
                if distillationLosses.count < B * T { distillationLosses = [Float](repeating: 0, count: B * T) }
                timing.forward += monotonicSeconds() - start
                start = monotonicSeconds()
                try distillationLosses.withUnsafeMutableBufferPointer { losses in
                    let lossPointer = losses.baseAddress!
                    try session.backward(
                        lossGradient: { gradient, logits, targets, rows in
                            Kernels.distillation(
                                losses: lossPointer, logitsGradient: gradient, student: logits, teacher: teacherLogits.baseAddress!,
                                targets: targets, rows: rows, vocabularySize: V, temperature: distillation.temperature,
                                alpha: distillation.alpha, lossGradient: 1 / Float(rows), context: self.context)
                        }, gradientsFinal: gradientsFinal)
                    loss = Float(losses.prefix(B * T).reduce(0.0) { $0 + Double($1) } / Double(B * T))
                }
            } else {
                timing.forward += monotonicSeconds() - start
                start = monotonicSeconds()
                try session.backward(gradientsFinal: gradientsFinal)
            }
            if let exchangeError { throw exchangeError }
            timing.backward += monotonicSeconds() - start
            lossSum += Double(loss)
        }
        let start = monotonicSeconds()
        // The mean gradient over every rank's micro-batches: this rank's slice of it when sharded.
        let gradients = try exchange.finish(gradients: session.trainedGradients, microBatches: micro, context: context)
        timing.communication += exchange.communicationSeconds
        timing.wait += exchange.waitSeconds
        var totals = [lossSum, shouldStop() ? 1 : 0]
        if communicator.isDistributed {
            let waitStart = monotonicSeconds()
            totals = try communicator.sum(totals)
            timing.wait += monotonicSeconds() - waitStart
            if totals[1] > 0 { return nil }
        }
        let owned = optimizer.owned
        for range in frozen where range.overlaps(owned) {
            let frozenOwned = range.clamped(to: owned)
            (gradients + (frozenOwned.lowerBound - owned.lowerBound)).update(repeating: 0, count: frozenOwned.count)
        }
        let loss = Float(totals[0] / Double(globalMicroBatches))
        let norm = try clipGradientNorm(gradients, count: owned.count)
        lastGradientNorm = norm
        if loss.isFinite && norm.isFinite {
            optimizer.update(
                parameters: trainedParameters, ownedGradients: UnsafePointer(gradients),
                learningRate: configuration.learningRateSchedule.learningRate(at: iteration), context: context)
            let shareStart = monotonicSeconds()
            try exchange.shareUpdatedParameters(trainedParameters)
            timing.wait += monotonicSeconds() - shareStart
            if adapter == nil { session.weightsChanged() }
        }
        timing.optimizer += monotonicSeconds() - start
        return loss
    }

    /// Scales this rank's `count` gradients so that the global L2 norm (over every rank's slice) is
    /// at most the configured clip; returns the norm before clipping.
    private func clipGradientNorm(_ gradients: UnsafeMutablePointer<Float>, count: Int) throws -> Float {
        var squares = Kernels.sumOfSquares(gradients, count: count, context: context)
        if exchange.sharded { squares = try communicator.sum([squares])[0] }
        let norm = Float(squares.squareRoot())
        let maximumNorm = configuration.gradientClip
        if maximumNorm > 0, norm > maximumNorm, norm.isFinite {
            Kernels.scale(gradients, count: count, by: maximumNorm / (norm + 1e-6), context: context)
        }
        return norm
    }

    private var restored = false

    /// What the optimizer updates: the adapter's factors, or the model's parameters.
    public var trainedParameters: FloatBuffer { adapter?.parameters ?? model.parameters }

    /// Writes what is trained to `directory`: the whole model (with `tokenizer`), or the adapter.
    private func save(to directory: URL, tokenizer: (any Tokenizer)?, weightsOnly: Bool) throws {
        switch (adapter, weightsOnly) {
        case (let adapter?, true): try AdapterDirectory.saveWeights(adapter, to: directory)
        case (let adapter?, false): try AdapterDirectory.save(adapter, to: directory)
        case (nil, true): try ModelDirectory.saveWeights(model, to: directory)
        case (nil, false): try ModelDirectory.save(model, tokenizer: tokenizer, to: directory)
        }
    }

    /// Loads a checkpoint's weights and optimizer state (before `run(resume:)`, so that a damaged
    /// checkpoint is reported before anything else happens).
    public func restore(_ checkpoint: TrainingCheckpoint, from directory: URL) throws {
        try TrainingCheckpoint.restore(
            layout: adapter?.layout ?? model.layout, parameters: trainedParameters, optimizer: optimizer, from: directory)
        optimizer.step = checkpoint.optimizerStep
        session.weightsChanged()
        restored = true
    }

    /// The gradient norm of the last step (before clipping).
    public private(set) var lastGradientNorm: Float = 0

    /// Mean cross-entropy over `evalIterations` random batches of `split`, without dropout. Batch j
    /// is drawn from a generator of its own (seed, iteration, split, j), so evaluating never changes
    /// training, and over several ranks, rank r scores batches r, r + ranks, … and the sums are added.
    public func estimateLoss(_ split: TokenDataset.Split, iteration: Int) throws -> Float {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        var sum = 0.0
        var inputs: [Int32] = []
        var targets: [Int32] = []
        for batch in stride(from: communicator.rank, to: configuration.evalIterations, by: communicator.size) {
            var evaluation = RandomGenerator(
                seed: RandomGenerator.seed(
                    combining: configuration.seed, 0xE7A1, UInt64(iteration), split == .training ? 0 : 1, UInt64(batch)))
            dataset.sampleBatch(split, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &evaluation)
            sum += Double(try session.loss(tokens: inputs, targets: targets, batch: B, length: T))
        }
        return Float(try communicator.sum([sum])[0] / Double(configuration.evalIterations))
    }

    /// Whether `shouldStop` turned true here or, over several ranks, on any rank (every rank agrees).
    private func agreedStop(_ shouldStop: () -> Bool) throws -> Bool {
        let local = shouldStop()
        guard communicator.isDistributed else { return local }
        return try communicator.maximum([local ? 1 : 0])[0] > 0
    }

    /// Runs to `maxIterations`, from `resume` if given. Evaluates at step 0, every
    /// `evalInterval` steps and at the end (unless it just did), then rewrites the model's weights (and `best/` with
    /// `keepBest`); writes a checkpoint at each evaluation, every `checkpointInterval` steps,
    /// at the end and when `shouldStop` turns true (Ctrl-C).
    public func run(
        outputDirectory: URL, tokenizer: (any Tokenizer)?, runDescription: RunDescription,
        resume: TrainingCheckpoint? = nil, shouldStop: () -> Bool = { false }, onEvent: (TrainingEvent) -> Void
    ) throws -> TrainingSummary {
        let bestDirectory = outputDirectory.appendingPathComponent("best")
        var best = Float.infinity
        var iteration = 0
        if let resume {
            if !restored { try restore(resume, from: outputDirectory) }
            best = resume.bestValidationLoss
            iteration = resume.nextIteration
        } else if communicator.isWriter {
            try save(to: outputDirectory, tokenizer: tokenizer, weightsOnly: false)
        }
        var last = (training: Float.nan, validation: Float.nan)
        var evaluatedAt: Int?
        let runStart = monotonicSeconds()
        func checkpoint() throws {
            try TrainingCheckpoint(
                nextIteration: iteration, optimizerStep: optimizer.step, bestValidationLoss: best,
                configuration: configuration, run: runDescription
            ).write(
                layout: adapter?.layout ?? model.layout, parameters: trainedParameters, optimizer: optimizer, to: outputDirectory,
                communicator: communicator)
            onEvent(.checkpoint(nextIteration: iteration))
        }
        func evaluateAndSave() throws {
            last = (try estimateLoss(.training, iteration: iteration), try estimateLoss(.validation, iteration: iteration))
            evaluatedAt = iteration
            onEvent(.evaluation(step: iteration, trainingLoss: last.training, validationLoss: last.validation))
            if communicator.isWriter {
                try save(to: outputDirectory, tokenizer: tokenizer, weightsOnly: true)
                onEvent(.saved(directory: outputDirectory, best: false))
            }
            if communicator.isWriter, runDescription.keepBest, last.validation < best {
                try save(to: bestDirectory, tokenizer: tokenizer, weightsOnly: false)
                onEvent(.saved(directory: bestDirectory, best: true))
            }
            best = min(best, last.validation)
            try checkpoint()
        }
        var interrupted = false
        var nonFinite = 0
        let resumedAt = iteration
        while iteration < configuration.maxIterations {
            if iteration % configuration.evalInterval == 0 && !(resume != nil && iteration == resumedAt) {
                try evaluateAndSave()
            } else if configuration.checkpointInterval > 0 && iteration % configuration.checkpointInterval == 0
                && iteration != resumedAt
            {
                try checkpoint()
            }
            if try agreedStop(shouldStop) {
                interrupted = true
                break
            }
            var timing = StepTiming()
            guard let loss = try step(iteration: iteration, timing: &timing, stoppingWhen: shouldStop) else {
                interrupted = true
                break
            }
            iteration += 1
            if !loss.isFinite || !lastGradientNorm.isFinite {
                nonFinite += 1
                onEvent(.skipped(step: iteration, loss: loss, gradientNorm: lastGradientNorm))
                if nonFinite >= Self.nonFiniteLimit {
                    throw TrainingError(
                        "\(nonFinite) steps in a row had a non-finite loss or gradient (last at iteration \(iteration - 1)); the last good checkpoint is kept in \(outputDirectory.path) — lower --learning-rate (now \(configuration.learningRate)) and resume")
                }
                continue
            }
            nonFinite = 0
            let tokens = Double(configuration.batchSize * configuration.contextLength * globalMicroBatches)
            onEvent(
                .step(
                    step: iteration, loss: loss,
                    learningRate: configuration.learningRateSchedule.learningRate(at: iteration - 1),
                    tokensPerSecond: tokens / max(timing.total, 1e-9), elapsed: monotonicSeconds() - runStart))
        }
        // Interrupted right after an evaluation (Ctrl-C during it), nothing changed since: no repeat.
        if evaluatedAt != iteration { try evaluateAndSave() }
        return TrainingSummary(
            iterations: iteration, trainingLoss: last.training, validationLoss: last.validation,
            bestValidationLoss: best, interrupted: interrupted)
    }
}

