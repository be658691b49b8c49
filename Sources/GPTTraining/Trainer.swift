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
    public var backward = 0.0
    public var optimizer = 0.0
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

/// Knowledge distillation: a teacher model whose softened predictions the student also learns.
public struct Distillation {
    public let teacher: GPT
    public let temperature: Float
    /// Weight of the distillation term; 1 − alpha weighs the plain cross-entropy.
    public let alpha: Float

    public init(teacher: GPT, temperature: Float, alpha: Float) throws {
        try Self.validate(temperature: temperature, alpha: alpha)
        self.teacher = teacher
        self.temperature = temperature
        self.alpha = alpha
    }

    /// Rejects a temperature or weight no distillation can use.
    public static func validate(temperature: Float, alpha: Float) throws {
        let check = Validator(owner: "Distillation")
        try check.require(temperature > 0 && temperature.isFinite, "temperature", "must be positive", temperature)
        try check.require(alpha >= 0 && alpha <= 1, "alpha", "must be in [0, 1]", alpha)
    }
}

/// Trains a model: gradient accumulation, clipping, the configured optimizer and schedule,
/// evaluation every `evalInterval` steps, atomic saves, and checkpoints for exact resume.
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
    public var context: KernelContext { session.context }
    public let distillation: Distillation?
    /// The teacher's forward passes (same kernel context: they never run at the same time).
    private let teacherSession: TrainingSession?
    /// Parameters that are not trained (fine-tuning), as ranges of the layout.
    private let frozen: [Range<Int>]
    /// The training stream: batches and dropout seeds. Evaluation uses its own generators.
    public private(set) var generator: RandomGenerator
    private var inputs: [Int32] = []
    private var targets: [Int32] = []
    private var distillationLosses: [Float] = []

    /// With an `adapter`, only the adapter is trained (and saved, in PEFT's format); `freezing` must then be empty.
    public init(
        model: GPT, adapter: LoRAAdapter? = nil, dataset: TokenDataset, configuration: TrainingConfiguration,
        parallelism: Parallelism, freezing: Freezing = Freezing(), distillation: Distillation? = nil,
        kernelLevel: KernelLevel = .best
    ) {
        let tied = model.configuration.tiesEmbeddings
        let isTrainable = { (tensor: ParameterTensor) in adapter != nil || freezing.isTrainable(tensor, tiedEmbeddings: tied) }
        self.model = model
        self.adapter = adapter
        self.dataset = dataset
        self.configuration = configuration
        let layout = adapter?.layout ?? model.layout
        optimizer = Optimizer(layout: layout, settings: configuration.optimizerSettings, isTrainable: isTrainable)
        frozen = layout.tensors.filter { !isTrainable($0) }.map { $0.offset..<($0.offset + $0.count) }
        let session = TrainingSession(
            model: model, adapter: adapter, context: KernelContext(parallelism: parallelism, level: kernelLevel))
        self.session = session
        teacherSession = distillation.map { TrainingSession(model: $0.teacher, context: session.context) }
        self.distillation = distillation
        generator = RandomGenerator(seed: configuration.seed ^ 0x5EED_DA7A)
    }

    /// One optimisation step at `iteration`: `gradAccum` forward/backward passes, clipping and the
    /// update. Returns the mean loss; a non-finite loss or gradient norm skips the update.
    public func step(iteration: Int, timing: inout StepTiming) throws -> Float {
        try step(iteration: iteration, timing: &timing, stoppingWhen: { false })!
    }

    /// The step, abandoned between micro-batches when `shouldStop` turns true: then nothing is
    /// updated, the training stream is put back where the step found it (so a checkpoint written
    /// next resumes exactly) and the result is nil.
    public func step(iteration: Int, timing: inout StepTiming, stoppingWhen shouldStop: () -> Bool) throws -> Float? {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        let micro = configuration.gradientAccumulation
        let streamBefore = generator
        session.zeroGradients()
        var lossSum = 0.0
        for index in 0..<micro {
            if index > 0 && shouldStop() {
                generator = streamBefore
                return nil
            }
            dataset.sampleBatch(.training, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &generator)
            let dropoutSeed = generator.next()
            var start = monotonicSeconds()
            var loss = try session.loss(
                tokens: inputs, targets: targets, batch: B, length: T, training: true, dropoutSeed: dropoutSeed)
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
                    try session.backward { gradient, logits, targets, rows in
                        Kernels.distillation(
                            losses: lossPointer, logitsGradient: gradient, student: logits, teacher: teacherLogits.baseAddress!,
                            targets: targets, rows: rows, vocabularySize: V, temperature: distillation.temperature,
                            alpha: distillation.alpha, lossGradient: 1 / Float(rows), context: self.context)
                    }
                    loss = Float(losses.prefix(B * T).reduce(0.0) { $0 + Double($1) } / Double(B * T))
                }
            } else {
                timing.forward += monotonicSeconds() - start
                start = monotonicSeconds()
                try session.backward()
            }
            timing.backward += monotonicSeconds() - start
            lossSum += Double(loss)
        }
        let start = monotonicSeconds()
        let gradients = session.trainedGradients
        if micro > 1 { Kernels.scale(gradients.pointer, count: gradients.count, by: 1 / Float(micro), context: context) }
        for range in frozen { (gradients.pointer + range.lowerBound).update(repeating: 0, count: range.count) }
        let loss = Float(lossSum / Double(micro))
        let norm = clipGradientNorm(gradients, maximumNorm: configuration.gradientClip, context: context)
        lastGradientNorm = norm
        if loss.isFinite && norm.isFinite {
            optimizer.update(
                parameters: trainedParameters, gradients: gradients,
                learningRate: configuration.learningRateSchedule.learningRate(at: iteration), context: context)
        }
        timing.optimizer += monotonicSeconds() - start
        return loss
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

    /// Loads a checkpoint's weights, optimizer state and training stream (before `run(resume:)`,
    /// so that a damaged checkpoint is reported before anything else happens).
    public func restore(_ checkpoint: TrainingCheckpoint, from directory: URL) throws {
        try TrainingCheckpoint.restore(
            layout: adapter?.layout ?? model.layout, parameters: trainedParameters, optimizer: optimizer, from: directory)
        optimizer.step = checkpoint.optimizerStep
        generator = checkpoint.generator
        restored = true
    }

    /// The gradient norm of the last step (before clipping).
    public private(set) var lastGradientNorm: Float = 0

    /// Mean cross-entropy over `evalIterations` random batches of `split`, without dropout. Each
    /// evaluation draws its batches from a generator of its own (seed and iteration), so
    /// evaluating never changes the training stream.
    public func estimateLoss(_ split: TokenDataset.Split, iteration: Int) throws -> Float {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        var evaluation = RandomGenerator(seed: configuration.seed &+ UInt64(iteration + 1) &* 0x9E37_79B9_7F4A_7C15 &+ (split == .training ? 0 : 1))
        var sum = 0.0
        var inputs: [Int32] = []
        var targets: [Int32] = []
        for _ in 0..<configuration.evalIterations {
            dataset.sampleBatch(split, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &evaluation)
            sum += Double(try session.loss(tokens: inputs, targets: targets, batch: B, length: T))
        }
        return Float(sum / Double(configuration.evalIterations))
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
        } else {
            try save(to: outputDirectory, tokenizer: tokenizer, weightsOnly: false)
        }
        var last = (training: Float.nan, validation: Float.nan)
        var evaluatedAt: Int?
        let runStart = monotonicSeconds()
        func checkpoint() throws {
            try TrainingCheckpoint(
                nextIteration: iteration, optimizerStep: optimizer.step, generator: generator, bestValidationLoss: best,
                configuration: configuration, run: runDescription
            ).write(layout: adapter?.layout ?? model.layout, parameters: trainedParameters, optimizer: optimizer, to: outputDirectory)
            onEvent(.checkpoint(nextIteration: iteration))
        }
        func evaluateAndSave() throws {
            last = (try estimateLoss(.training, iteration: iteration), try estimateLoss(.validation, iteration: iteration))
            evaluatedAt = iteration
            onEvent(.evaluation(step: iteration, trainingLoss: last.training, validationLoss: last.validation))
            try save(to: outputDirectory, tokenizer: tokenizer, weightsOnly: true)
            onEvent(.saved(directory: outputDirectory, best: false))
            if runDescription.keepBest, last.validation < best {
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
            if shouldStop() {
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
            let tokens = Double(configuration.batchSize * configuration.contextLength * configuration.gradientAccumulation)
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

