import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    /// One optimisation step. `tokensPerSecond` counts only the step itself (not evaluation or saving).
    case step(iteration: Int, loss: Float, learningRate: Float, tokensPerSecond: Double, elapsed: Double)
    /// Mean losses over `--eval-iters` random batches of each split.
    case evaluation(iteration: Int, trainingLoss: Float, validationLoss: Float)
    /// Weights were written to this directory.
    case saved(directory: URL, best: Bool)
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

/// Trains a model with AdamW, warmup + cosine decay and gradient clipping, evaluating
/// every `evalInterval` steps and saving the latest (and optionally the best) weights.
public final class Trainer {
    public let model: GPTModel
    public let dataset: TokenDataset
    public let configuration: TrainingConfiguration
    public let optimizer: AdamW
    public let context: KernelContext
    private var generator: Generator
    private var inputs: [Int32] = []
    private var targets: [Int32] = []

    public init(model: GPTModel, dataset: TokenDataset, configuration: TrainingConfiguration, parallelism: Parallelism) {
        self.model = model
        self.dataset = dataset
        self.configuration = configuration
        optimizer = AdamW(layout: model.layout, settings: configuration.optimizerSettings)
        context = KernelContext(parallelism: parallelism)
        // The data order comes from its own stream, derived from the seed.
        generator = Generator(seed: configuration.seed ^ 0x5EED_DA7A)
    }

    /// One optimisation step at `iteration`: forward, backward, clip, AdamW. Returns the loss.
    public func step(iteration: Int, timing: inout StepTiming) throws -> Float {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        dataset.sampleBatch(.training, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &generator)
        let dropoutSeed = generator.next()
        var start = now()
        let loss = try model.forward(
            tokens: inputs, targets: targets, batch: B, length: T, training: true, dropoutSeed: dropoutSeed,
            context: context)!
        guard loss.isFinite else {
            throw TrainingError(
                "the loss became \(loss) at iteration \(iteration); lower --learning-rate (now \(configuration.learningRate)) or --grad-clip")
        }
        timing.forward += now() - start
        start = now()
        model.zeroGradients()
        try model.backward(context: context)
        timing.backward += now() - start
        start = now()
        let gradients = model.gradients!
        clipGradientNorm(gradients, maximumNorm: configuration.gradientClip, context: context)
        optimizer.update(
            parameters: model.parameters, gradients: gradients,
            learningRate: configuration.schedule.learningRate(at: iteration), context: context)
        timing.optimizer += now() - start
        return loss
    }

    /// Mean loss over `evalIterations` random batches of `split`, without dropout.
    public func estimateLoss(_ split: TokenDataset.Split) throws -> Float {
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        var sum = 0.0
        for _ in 0..<configuration.evalIterations {
            dataset.sampleBatch(split, batch: B, length: T, inputs: &inputs, targets: &targets, generator: &generator)
            sum += Double(try model.forward(tokens: inputs, targets: targets, batch: B, length: T, context: context)!)
        }
        return Float(sum / Double(configuration.evalIterations))
    }

    /// Runs `maxIterations` steps. Evaluates at iteration 0, every `evalInterval`, and at the end;
    /// after each evaluation rewrites `outputDirectory`'s weights (and `best/` with `keepBest`).
    /// `shouldStop` is polled between steps (Ctrl-C): the run then evaluates, saves and returns.
    public func run(
        outputDirectory: URL, tokenizer: (any Tokenizer)?, keepBest: Bool,
        shouldStop: () -> Bool = { false }, onEvent: (TrainingEvent) -> Void
    ) throws -> TrainingSummary {
        try ModelDirectory.save(model, tokenizer: tokenizer, to: outputDirectory)
        let bestDirectory = outputDirectory.appendingPathComponent("best")
        var best = Float.infinity
        var last = (training: Float.nan, validation: Float.nan)
        let runStart = now()
        func evaluateAndSave(_ iteration: Int) throws {
            last = (try estimateLoss(.training), try estimateLoss(.validation))
            onEvent(.evaluation(iteration: iteration, trainingLoss: last.training, validationLoss: last.validation))
            try ModelDirectory.saveWeights(model, to: outputDirectory)
            onEvent(.saved(directory: outputDirectory, best: false))
            if keepBest, last.validation < best {
                try ModelDirectory.save(model, tokenizer: tokenizer, to: bestDirectory)
                onEvent(.saved(directory: bestDirectory, best: true))
            }
            best = min(best, last.validation)
        }
        var iteration = 0
        var interrupted = false
        while iteration < configuration.maxIterations {
            if iteration % configuration.evalInterval == 0 {
                try evaluateAndSave(iteration)
            }
            if shouldStop() {
                interrupted = true
                break
            }
            var timing = StepTiming()
            let loss = try step(iteration: iteration, timing: &timing)
            let tokens = Double(configuration.batchSize * configuration.contextLength)
            onEvent(
                .step(
                    iteration: iteration, loss: loss, learningRate: configuration.schedule.learningRate(at: iteration),
                    tokensPerSecond: tokens / max(timing.total, 1e-9), elapsed: now() - runStart))
            iteration += 1
        }
        try evaluateAndSave(iteration)
        return TrainingSummary(
            iterations: iteration, trainingLoss: last.training, validationLoss: last.validation,
            bestValidationLoss: best, interrupted: interrupted)
    }
}

/// Seconds on a monotonic clock.
func now() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
