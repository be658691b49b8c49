import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import GPTTokenizer
import GPTTraining
import Testing

/// Optimizers, schedules, exact resume, the non-finite guard.
@Suite struct OptimizerTests {
    /// Three parameters: a 1×2 matrix (decayed) and a bias (not decayed).
    let layout = ParameterLayout(tensors: [("w", [1, 2]), ("b", [1])])
    let context = KernelContext(parallelism: Parallelism(threads: 1))

    func twoSteps(_ settings: OptimizerSettings, learningRate: Float) -> [Float] {
        let optimizer = Optimizer(layout: layout, settings: settings)
        let parameters = FloatBuffer([1.0, -2.0, 0.5])
        let gradients = FloatBuffer([0.5, -1.0, 2.0])
        optimizer.update(parameters: parameters, gradients: gradients, learningRate: learningRate, context: context)
        gradients.copy(from: FloatBuffer([0.25, 0.5, -1.0]))
        optimizer.update(parameters: parameters, gradients: gradients, learningRate: learningRate, context: context)
        return parameters.array
    }

    @Test func sgdWithMomentumAndNesterovByHand() {
        // decay 0.1 on w only; lr 0.1; momentum 0.9
        let plain = twoSteps(OptimizerSettings(kind: .sgd, weightDecay: 0.1, momentum: 0), learningRate: 0.1)
        var p: [Double] = [1, -2, 0.5]
        for g in [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0]] {
            for i in 0..<3 { p[i] -= 0.1 * (g[i] + (i < 2 ? 0.1 * p[i] : 0)) }
        }
        expectClose(plain, p.map(Float.init), absolute: 1e-6, relative: 1e-6, "sgd")
        for nesterov in [false, true] {
            let result = twoSteps(OptimizerSettings(kind: .sgd, weightDecay: 0.1, momentum: 0.9, nesterov: nesterov), learningRate: 0.1)
            var p: [Double] = [1, -2, 0.5]
            var buffer: [Double] = [0, 0, 0]
            for (step, g0) in [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0]].enumerated() {
                for i in 0..<3 {
                    let g = g0[i] + (i < 2 ? 0.1 * p[i] : 0)
                    buffer[i] = step == 0 ? g : 0.9 * buffer[i] + g
                    p[i] -= 0.1 * (nesterov ? g + 0.9 * buffer[i] : buffer[i])
                }
            }
            expectClose(result, p.map(Float.init), absolute: 1e-6, relative: 1e-6, "sgd nesterov \(nesterov)")
        }
    }

    @Test func rmspropAdamAndAdamWByHand() {
        let rms = twoSteps(OptimizerSettings(kind: .rmsprop, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1), learningRate: 0.01)
        var p: [Double] = [1, -2, 0.5]
        var s: [Double] = [0, 0, 0]
        for g0 in [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0]] {
            for i in 0..<3 {
                let g = g0[i] + (i < 2 ? 0.1 * p[i] : 0)
                s[i] = 0.99 * s[i] + 0.01 * g * g
                p[i] -= 0.01 * g / (s[i].squareRoot() + 1e-8)
            }
        }
        expectClose(rms, p.map(Float.init), absolute: 1e-5, relative: 1e-5, "rmsprop")
        for kind in [OptimizerKind.adam, .adamw] {
            let result = twoSteps(OptimizerSettings(kind: kind, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1), learningRate: 0.01)
            var p: [Double] = [1, -2, 0.5]
            var m: [Double] = [0, 0, 0], v: [Double] = [0, 0, 0]
            for (index, g0) in [[0.5, -1.0, 2.0], [0.25, 0.5, -1.0]].enumerated() {
                let t = Double(index + 1)
                for i in 0..<3 {
                    let decay = i < 2 ? 0.1 : 0
                    let g = kind == .adam ? g0[i] + decay * p[i] : g0[i]
                    if kind == .adamw { p[i] *= 1 - 0.01 * decay }
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.99 * v[i] + 0.01 * g * g
                    p[i] -= 0.01 * (m[i] / (1 - pow(0.9, t))) / ((v[i] / (1 - pow(0.99, t))).squareRoot() + 1e-8)
                }
            }
            expectClose(result, p.map(Float.init), absolute: 1e-5, relative: 1e-5, "\(kind)")
        }
    }

    @Test(arguments: OptimizerKind.allCases)
    func everyOptimizerReducesTheLossOnASmallTask(kind: OptimizerKind) throws {
        var configuration = TrainerTests.tinyConfiguration()
        configuration.optimizer = kind
        configuration.learningRate = kind == .sgd ? 0.3 : 3e-3
        configuration.minLearningRate = configuration.learningRate / 10
        configuration.evalIterations = 8
        // The same evaluation batches before and after 40 steps (a step's own batch is too noisy to compare).
        let trainer = try RecipeRuns.trainer(configuration)
        let early = try trainer.estimateLoss(.training, iteration: 0)
        var timing = StepTiming()
        for step in 0..<40 { _ = try trainer.step(iteration: step, timing: &timing) }
        let late = try trainer.estimateLoss(.training, iteration: 0)
        #expect(late < early - 0.2, "\(kind): \(early) → \(late)")
    }
}

@Suite struct ScheduleTests {
    @Test func eachScheduleMatchesItsFormula() {
        func schedule(_ kind: ScheduleKind) -> LearningRateSchedule {
            LearningRateSchedule(kind: kind, maximum: 1, minimum: 0.1, warmupIterations: 10, decayIterations: 110, decayFraction: 0.2)
        }
        for kind in ScheduleKind.allCases {
            #expect(abs(schedule(kind).learningRate(at: 0) - 1.0 / 11) < 1e-7, "\(kind) warmup")
            #expect(abs(schedule(kind).learningRate(at: 9) - 10.0 / 11) < 1e-7, "\(kind) warmup end")
        }
        #expect(schedule(.constant).learningRate(at: 500) == 1)
        #expect(abs(schedule(.linear).learningRate(at: 60) - 0.55) < 1e-6)
        #expect(abs(schedule(.linear).learningRate(at: 110) - 0.1) < 1e-6)
        #expect(abs(schedule(.cosine).learningRate(at: 60) - 0.55) < 1e-6)
        #expect(schedule(.wsd).learningRate(at: 89) == 1)  // stable until 10 + 0.8 · 100 = 90
        #expect(abs(schedule(.wsd).learningRate(at: 100) - 0.55) < 1e-6)  // halfway down the decay
        #expect(schedule(.wsd).learningRate(at: 200) == 0.1)
    }
}

@Suite struct FreezingAndAccumulationTests {
    static let cases: [(String, Freezing)] = [
        ("embeddings and the first block", Freezing(embeddings: true, layers: 1)),
        ("all but the head", Freezing(headOnly: true)),
    ]

    @Test(arguments: 0..<cases.count)
    func frozenTensorsStayBitIdenticalAndTheRestTrains(index: Int) throws {
        let (label, freezing) = Self.cases[index]
        var configuration = TrainerTests.tinyConfiguration()
        configuration.tiesEmbeddings = false
        configuration.weightDecay = 0.1  // decay must not touch frozen matrices either
        let trainer = try RecipeRuns.trainer(configuration, freezing: freezing)
        let model = trainer.model
        let before = model.parameters.array
        var timing = StepTiming()
        for iteration in 0..<5 { _ = try trainer.step(iteration: iteration, timing: &timing) }
        let after = model.parameters.array
        var frozenCount = 0
        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let frozen = !freezing.isTrainable(tensor, tiedEmbeddings: false)
            let expectedFrozen: Bool
            switch tensor.group {
            case .tokenEmbedding, .positionEmbedding: expectedFrozen = true
            case .block(let layer): expectedFrozen = freezing.headOnly || layer < 1
            case .finalNorm, .unembedding, .other: expectedFrozen = false
            }
            #expect(frozen == expectedFrozen, "\(label): \(tensor.name)")
            if frozen {
                frozenCount += 1
                #expect(Array(after[range]) == Array(before[range]), "\(label): frozen \(tensor.name) changed")
            } else {
                #expect(Array(after[range]) != Array(before[range]), "\(label): trained \(tensor.name) did not change")
            }
        }
        #expect(frozenCount > 0)
        #expect(trainer.optimizer.trainableCount < model.parameterCount)
    }

    @Test func accumulatedMicroBatchesEqualOneBatchTwiceTheSize() throws {
        var generator = RandomGenerator(seed: 21)
        let model = try GPT(
            configuration: GPTConfiguration(vocabularySize: 13, contextLength: 8, embeddingSize: 16, layerCount: 2, headCount: 2),
            generator: &generator)
        let (B, T) = (3, 8)
        let tokens = (0..<(2 * B * T)).map { _ in Int32(generator.nextInt(below: 13)) }
        let targets = (0..<(2 * B * T)).map { _ in Int32(generator.nextInt(below: 13)) }
        let whole = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        try whole.forward(tokens: tokens, targets: targets, batch: 2 * B, length: T, training: true)
        whole.zeroGradients()
        try whole.backward()
        // Two micro-batches accumulate into one gradient buffer, then the sum is halved (as Trainer.step does).
        let micro = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        micro.zeroGradients()
        for half in 0..<2 {
            let rows = (half * B * T)..<((half + 1) * B * T)
            try micro.forward(tokens: Array(tokens[rows]), targets: Array(targets[rows]), batch: B, length: T, training: true)
            try micro.backward()
        }
        let accumulated = micro.gradients.array.map { $0 / 2 }
        expectClose(accumulated, whole.gradients.array, absolute: 1e-6, relative: 1e-4, "accumulated gradients")
    }
}

/// Small runs shared by the tests.
enum RecipeRuns {
    static let text = DefaultCorpus.text(characters: 6_000)
    static let tokenizer = CharacterTokenizer(training: text)

    static func trainer(_ configuration: TrainingConfiguration, freezing: Freezing = Freezing()) throws -> Trainer {
        var generator = RandomGenerator(seed: configuration.seed)
        let model = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: tokenizer.vocabularySize), generator: &generator)
        let ids = try tokenizer.encode(text).map(Int32.init)
        return try Trainer(
            model: model, dataset: TokenDataset(tokens: ids), configuration: configuration, parallelism: Parallelism(threads: 2),
            freezing: freezing)
    }

    static func losses(_ configuration: TrainingConfiguration, steps: Int) throws -> [Float] {
        let trainer = try trainer(configuration)
        var timing = StepTiming()
        return try (0..<steps).map { try trainer.step(iteration: $0, timing: &timing) }
    }

    /// Runs `trainer` to its configured end (or from `resume`), returning the step losses.
    static func run(_ trainer: Trainer, in directory: URL, resume: TrainingCheckpoint? = nil) throws -> [Float] {
        var losses: [Float] = []
        _ = try trainer.run(
            outputDirectory: directory, tokenizer: tokenizer, runDescription: RunDescription(command: "train"), resume: resume
        ) { event in
            if case .step(_, let loss, _, _, _) = event { losses.append(loss) }
        }
        return losses
    }
}

@Suite struct ResumeTests {
    /// training.json as the build before the typed configuration wrote it (gpt train at 74a5f0a, with --log).
    static let formatOneFile = #"""
        {"best_val_loss": 3.9285664558410645, "configuration": {"activation": "gelu", "batch-size": 4, "beta1": 0.8999999761581421,
        "beta2": 0.9900000095367432, "bias": true, "checkpoint-interval": 0, "context-length": 16, "decay-fraction": 0.20000000298023224,
        "dropout": 0, "embedding-size": 16, "eval-interval": 10, "eval-iters": 2, "grad-accum": 1, "grad-clip": 1, "heads": 1, "layers": 1,
        "learning-rate": 0.0010000000474974513, "lr-decay-iters": 20, "max-iters": 40, "min-learning-rate": 9.999999747378752e-05,
        "momentum": 0.8999999761581421, "nesterov": false, "norm": "pre", "optimizer": "adamw", "position": "learned",
        "schedule": "cosine", "seed": 1337, "tie-embeddings": true, "warmup-iters": 50, "weight-decay": 0.10000000149011612},
        "format_version": 1, "next_iteration": 40, "optimizer_step": 40, "rng": ["14631331192775640586", "693325356140152662",
        "8035598635317239136", "3750989919745065894"], "run": {"allow-special": false, "command": "finetune", "data": "/tmp/ts100k.txt",
        "keep-best": false, "log": "/tmp/oldrun.log", "vocab-size": 61, "freeze-layers": 1, "train-head-only": false,
        "freeze-embeddings": true}, "state_file": "training_state-00000040.safetensors"}
        """#

    @Test func aCheckpointWrittenBeforeTheTypedConfigurationReadsTheSame() throws {
        let directory = temporaryDirectory("format-one")
        try Data(Self.formatOneFile.utf8).write(to: directory.appendingPathComponent(TrainingCheckpoint.fileName))
        let checkpoint = try TrainingCheckpoint.read(from: directory)
        var expected = TrainingConfiguration()
        (expected.layerCount, expected.headCount, expected.embeddingSize, expected.contextLength) = (1, 1, 16, 16)
        (expected.batchSize, expected.maxIterations, expected.decayIterations) = (4, 40, 20)
        (expected.evalInterval, expected.evalIterations, expected.warmupIterations) = (10, 2, 50)
        #expect(checkpoint.configuration == expected)
        #expect(checkpoint.nextIteration == 40 && checkpoint.optimizerStep == 40 && checkpoint.bestValidationLoss == 3.9285665)
        // Its random generator state is no longer needed (batches come from the seed, the step and the micro-batch).
        var run = RunDescription(command: "finetune")
        (run.data, run.log, run.vocabularySize) = ("/tmp/ts100k.txt", "/tmp/oldrun.log", 61)
        run.freezing = Freezing(embeddings: true, layers: 1)
        #expect(checkpoint.run == run)
        // Damaged files are refused with one line.
        try Data(Self.formatOneFile.replacingOccurrences(of: "\"format_version\": 1", with: "\"format_version\": 2").utf8)
            .write(to: directory.appendingPathComponent(TrainingCheckpoint.fileName))
        #expect(throws: TrainingError.self) { try TrainingCheckpoint.read(from: directory) }
    }

    @Test(arguments: [OptimizerKind.adamw, .sgd])
    func stopAndResumeIsBitIdenticalToOneRun(kind: OptimizerKind) throws {
        var configuration = TrainerTests.tinyConfiguration()
        configuration.optimizer = kind
        configuration.maxIterations = 24
        configuration.decayIterations = 24
        configuration.evalInterval = 10
        configuration.dropout = 0.1
        configuration.gradientAccumulation = 2
        let straightDirectory = temporaryDirectory("straight")
        let straight = try RecipeRuns.trainer(configuration)
        let all = try RecipeRuns.run(straight, in: straightDirectory)

        var first = configuration
        first.maxIterations = 12
        let directory = temporaryDirectory("resumed")
        let part1 = try RecipeRuns.run(try RecipeRuns.trainer(first), in: directory)
        let checkpoint = try TrainingCheckpoint.read(from: directory)
        #expect(checkpoint.nextIteration == 12)
        let resumed = try RecipeRuns.trainer(configuration)  // fresh weights: the checkpoint replaces them
        let part2 = try RecipeRuns.run(resumed, in: directory, resume: checkpoint)
        #expect(part1 + part2 == all)
        #expect(resumed.model.parameters.array == straight.model.parameters.array)
        #expect(resumed.optimizer.step == straight.optimizer.step)
    }

    @Test func nonFiniteStepsAreSkippedThenStopTheRun() throws {
        var configuration = TrainerTests.tinyConfiguration()
        configuration.maxIterations = 20
        let trainer = try RecipeRuns.trainer(configuration)
        trainer.model.parameters[trainer.model.layout.finalNormWeight] = .nan
        var skipped = 0
        let directory = temporaryDirectory("nan")
        do {
            _ = try trainer.run(outputDirectory: directory, tokenizer: RecipeRuns.tokenizer, runDescription: RunDescription(command: "train")) { event in
                if case .skipped = event { skipped += 1 }
            }
            Issue.record("a run of NaN losses did not stop")
        } catch let error as TrainingError {
            #expect(error.message.contains("lower --learning-rate"))
        }
        #expect(skipped == Trainer.nonFiniteLimit)
        #expect(try TrainingCheckpoint.read(from: directory).nextIteration == 0)
    }
}
