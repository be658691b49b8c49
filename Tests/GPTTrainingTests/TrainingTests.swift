import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTestSupport
import GPTTraining
import Testing

@Suite struct AdamWParityTests {
    /// Ten AdamW steps on the Hugging Face fixture match torch.optim.AdamW: the loss
    /// trajectory and the final weights (Scripts/make_hf_fixture.py).
    @Test func tenStepsMatchTorch() throws {
        let fixture = try HuggingFaceFixture()
        let model = try ModelDirectory.loadModel(fixture.directory)
        let settings = OptimizerSettings(
            kind: .adamw, beta1: Float(fixture.adamw["beta1"]!), beta2: Float(fixture.adamw["beta2"]!),
            epsilon: Float(fixture.adamw["epsilon"]!), weightDecay: Float(fixture.adamw["weight_decay"]!))
        let optimizer = Optimizer(layout: model.layout, settings: settings)
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        var losses: [Float] = []
        for _ in 0..<10 {
            let loss = try session.loss(
                tokens: fixture.inputIds, targets: fixture.targets, batch: fixture.batch, length: fixture.length,
                training: true)
            losses.append(loss)
            session.zeroGradients()
            try session.backward()
            optimizer.update(
                parameters: model.parameters, gradients: session.gradients,
                learningRate: Float(fixture.adamw["learning_rate"]!), context: session.context)
        }
        expectClose(losses, fixture.adamwLosses, absolute: 2e-5, relative: 1e-5, "AdamW losses")
        let final = try SafetensorsFile(contentsOf: fixture.directory.appendingPathComponent("adamw_final.safetensors"))
        for tensor in model.layout.tensors {
            let ours = Array(model.parameters.array[tensor.offset..<(tensor.offset + tensor.count)])
            // The key-bias slice has an exactly-zero true gradient, so its 1e-11 noise is
            // amplified by Adam up to ~1e-5: hence the absolute tolerance.
            expectClose(ours, try final.floats(tensor.name), absolute: 2e-5, relative: 1e-4, tensor.name)
        }
    }

    @Test func updateEqualsTheFormulaByHand() {
        var configuration = GPTConfiguration(vocabularySize: 3, contextLength: 2, embeddingSize: 2, layerCount: 1, headCount: 1)
        configuration.usesBias = true
        let layout = ParameterLayout(configuration)
        let settings = OptimizerSettings(kind: .adamw, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.5)
        let optimizer = Optimizer(layout: layout, settings: settings)
        let parameters = FloatBuffer((0..<layout.count).map { Float($0 % 5) * 0.1 + 0.1 })
        let gradients = FloatBuffer((0..<layout.count).map { Float($0 % 3) - 1 })
        let before = parameters.array
        optimizer.update(
            parameters: parameters, gradients: gradients, learningRate: 0.01,
            context: KernelContext(parallelism: Parallelism(threads: 2)))
        for tensor in layout.tensors {
            for index in tensor.offset..<(tensor.offset + tensor.count) {
                let g = gradients[index]
                let m = 0.1 * g / (1 - 0.9)
                let v = 0.01 * g * g / (1 - 0.99)
                let decay: Float = tensor.decays ? 0.5 : 0
                let expected = before[index] * (1 - 0.01 * decay) - 0.01 * m / (v.squareRoot() + 1e-8)
                #expect(abs(parameters[index] - expected) < 1e-6, "\(tensor.name)[\(index - tensor.offset)]")
            }
        }
    }

    @Test func clippingScalesToTheMaximumNorm() {
        let gradients = FloatBuffer([3, 4])
        let norm = clipGradientNorm(gradients, maximumNorm: 1, context: KernelContext(parallelism: Parallelism(threads: 1)))
        #expect(abs(norm - 5) < 1e-6)
        #expect(abs(gradients[0] - 0.6) < 1e-5 && abs(gradients[1] - 0.8) < 1e-5)
    }
}

@Suite struct ScheduleAndConfigurationTests {
    @Test func warmupCosineAndFloorMatchTheFormula() {
        let schedule = LearningRateSchedule(maximum: 1e-3, minimum: 1e-4, warmupIterations: 100, decayIterations: 2000)
        #expect(abs(schedule.learningRate(at: 0) - 1e-3 / 101) < 1e-9)
        #expect(abs(schedule.learningRate(at: 99) - 1e-3 * 100 / 101) < 1e-9)
        #expect(abs(schedule.learningRate(at: 100) - 1e-3) < 1e-9)
        #expect(abs(schedule.learningRate(at: 1050) - 5.5e-4) < 1e-8)  // halfway: (max + min) / 2
        #expect(abs(schedule.learningRate(at: 2000) - 1e-4) < 1e-9)
        #expect(schedule.learningRate(at: 5000) == 1e-4)
        var previous = Float.infinity
        for iteration in stride(from: 100, through: 2000, by: 50) {
            let rate = schedule.learningRate(at: iteration)
            #expect(rate <= previous)
            previous = rate
        }
    }

    @Test func presetsMatchNanoGPT() throws {
        let cpu = try TrainingConfiguration.preset(named: "shakespeare-char-cpu")
        #expect(cpu.layerCount == 4 && cpu.headCount == 4 && cpu.embeddingSize == 128 && cpu.contextLength == 64)
        #expect(cpu.batchSize == 12 && cpu.maxIterations == 2000 && cpu.decayIterations == 2000 && !cpu.usesBias)
        #expect(cpu.learningRate == 1e-3 && cpu.minLearningRate == 1e-4 && cpu.warmupIterations == 100)
        #expect(cpu.beta2 == 0.99 && cpu.dropout == 0 && cpu.weightDecay == 0.1 && cpu.gradientClip == 1)
        #expect(cpu.evalInterval == 250 && cpu.evalIterations == 20)
        let gpu = try TrainingConfiguration.preset(named: "shakespeare-char")
        #expect(gpu.layerCount == 6 && gpu.headCount == 6 && gpu.embeddingSize == 384 && gpu.contextLength == 256)
        #expect(gpu.batchSize == 64 && gpu.dropout == 0.2 && gpu.maxIterations == 5000 && gpu.evalIterations == 200)
        #expect(throws: InvalidValue.self) { try TrainingConfiguration.preset(named: "nope") }
    }

    @Test func badValuesAreRejectedNamingTheFieldAndTheRule() throws {
        var configuration = TrainingConfiguration()
        configuration.headCount = 3
        // Fields are named by their keys (the flag and config-file names).
        #expect(throws: InvalidValue(
            owner: "TrainingConfiguration", field: "embedding-size", rule: "must be divisible by the number of heads 3", value: "128"
        )) { try configuration.validate() }
        configuration.headCount = 4
        configuration.dropout = 1
        #expect(throws: InvalidValue(owner: "TrainingConfiguration", field: "dropout", rule: "must be in [0, 1)", value: "1.0")) {
            try configuration.validate()
        }
        configuration.dropout = 0
        configuration.maxIterations = 0
        #expect(throws: InvalidValue(owner: "TrainingConfiguration", field: "max-iters", rule: "must be at least 1", value: "0")) {
            try configuration.validate()
        }
    }

    @Test func aConfigFileLayersOverItsBaseAndNamesBadKeys() throws {
        let preset = try TrainingConfiguration.preset(named: "shakespeare-char")
        let file = Data(#"{"layers": 2, "learning-rate": 0.01, "norm": "post", "seed": 7}"#.utf8)
        let merged = try TrainingConfiguration.decode(file, over: preset, source: "x.json")
        var expected = preset
        (expected.layerCount, expected.learningRate, expected.normalization, expected.seed) = (2, 0.01, .post, 7)
        #expect(merged == expected)
        // What is written reads back the same, over any base.
        #expect(try TrainingConfiguration.decode(try merged.encoded(), over: TrainingConfiguration(), source: "y") == merged)
        #expect(throws: TrainingError(#"x.json: "layers" must be an integer (got four)"#)) {
            try TrainingConfiguration.decode(Data(#"{"layers": "four"}"#.utf8), over: preset, source: "x.json")
        }
        #expect(throws: TrainingError(#"x.json: "norm" must be pre|post (got middle)"#)) {
            try TrainingConfiguration.decode(Data(#"{"norm": "middle"}"#.utf8), over: preset, source: "x.json")
        }
        #expect(throws: TrainingError(#"x.json: "seed" must be a non-negative integer (got -1)"#)) {
            try TrainingConfiguration.decode(Data(#"{"seed": -1}"#.utf8), over: preset, source: "x.json")
        }
        do {
            _ = try TrainingConfiguration.decode(Data(#"{"unknown-key": 1}"#.utf8), over: preset, source: "x.json")
            Issue.record("an unknown key was accepted")
        } catch let error as TrainingError {
            #expect(error.message.hasPrefix(#"x.json: unknown key "unknown-key"; known keys: layers, heads"#))
        }
        #expect(throws: TrainingError.self) { try TrainingConfiguration.decode(Data("[1]".utf8), over: preset, source: "x.json") }
    }
}

@Suite struct TrainerTests {
    static func tinyConfiguration() -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.layerCount = 2
        configuration.headCount = 2
        configuration.embeddingSize = 32
        configuration.contextLength = 16
        configuration.batchSize = 4
        configuration.warmupIterations = 0
        configuration.learningRate = 3e-3
        configuration.maxIterations = 400
        configuration.decayIterations = 400
        configuration.evalIterations = 2
        return configuration
    }

    @Test func overfitsOneBatch() throws {
        var configuration = Self.tinyConfiguration()
        configuration.weightDecay = 0
        var generator = RandomGenerator(seed: 3)
        let model = try GPT(configuration: configuration.modelConfiguration(vocabularySize: 20), generator: &generator)
        let (B, T) = (4, 16)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 20)) }
        let targets = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 20)) }
        let optimizer = Optimizer(layout: model.layout, settings: configuration.optimizerSettings)
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        var loss = Float.infinity
        var steps = 0
        while loss >= 0.1 && steps < 300 {
            loss = try session.loss(tokens: tokens, targets: targets, batch: B, length: T, training: true)
            session.zeroGradients()
            try session.backward()
            optimizer.update(parameters: model.parameters, gradients: session.gradients, learningRate: 3e-3, context: session.context)
            steps += 1
        }
        #expect(loss < 0.1, "loss \(loss) after \(steps) steps")
    }

    func lossTrajectory(seed: UInt64, threads: Int) throws -> [Float] {
        var configuration = Self.tinyConfiguration()
        configuration.seed = seed
        configuration.dropout = 0.1
        let text = DefaultCorpus.text(characters: 5_000)
        let scalars = Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value }
        let ids = text.unicodeScalars.map { Int32(scalars.firstIndex(of: $0)!) }
        var generator = RandomGenerator(seed: seed)
        let model = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: scalars.count), generator: &generator)
        let trainer = try Trainer(
            model: model, dataset: TokenDataset(tokens: ids), configuration: configuration,
            parallelism: Parallelism(threads: threads))
        var timing = StepTiming()
        return try (0..<8).map { try trainer.step(iteration: $0, timing: &timing) }
    }

    @Test func sameSeedSameLosses() throws {
        let first = try lossTrajectory(seed: 5, threads: 2)
        #expect(first == (try lossTrajectory(seed: 5, threads: 2)))
        #expect(first != (try lossTrajectory(seed: 6, threads: 2)))
        #expect(first.last! < first.first!)
    }

    @Test func tooLittleTextIsAClearError() {
        let dataset = TokenDataset(tokens: Array(repeating: 1, count: 50))
        #expect(throws: TrainingError.self) { try dataset.validate(contextLength: 16) }
    }

    @Test func runSavesLatestAndBestAndEvaluatesAtTheEnd() throws {
        var configuration = Self.tinyConfiguration()
        configuration.maxIterations = 30
        configuration.evalInterval = 10
        let text = DefaultCorpus.text(characters: 8_000)
        let tokenizerScalars = Array(Set(text.unicodeScalars))
        let tokenizer = CharacterTokenizerFactory.make(tokenizerScalars)
        let ids = try tokenizer.encode(text).map(Int32.init)
        var generator = RandomGenerator(seed: 1)
        let model = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: tokenizer.vocabularySize), generator: &generator)
        let trainer = try Trainer(model: model, dataset: TokenDataset(tokens: ids), configuration: configuration, parallelism: Parallelism(threads: 2))
        let directory = temporaryDirectory()
        var evaluations: [Int] = []
        var steps: [Int] = []
        var description = RunDescription(command: "train")
        description.keepBest = true
        let summary = try trainer.run(outputDirectory: directory, tokenizer: tokenizer, runDescription: description) { event in
            switch event {
            case .evaluation(let step, _, _): evaluations.append(step)
            case .step(let step, _, _, _, _): steps.append(step)
            case .saved, .checkpoint, .skipped: break
            }
        }
        // One numbering: the steps done. The first step is 1, the last is --max-iters.
        #expect(evaluations == [0, 10, 20, 30])
        #expect(steps == Array(1...30))
        #expect(summary.iterations == 30)
        let reloaded = try ModelDirectory.loadModel(directory)
        #expect(reloaded.parameters.array == model.parameters.array)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("best/model.safetensors").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)
    }

    /// Ctrl-C during the first evaluation: the run stops after it, without evaluating step 0 twice.
    @Test func stoppingAtTheFirstEvaluationEvaluatesOnce() throws {
        var configuration = Self.tinyConfiguration()
        configuration.maxIterations = 30
        configuration.evalInterval = 10
        let ids = (0..<4_000).map { Int32($0 * 7 % 13) }
        var generator = RandomGenerator(seed: 1)
        let model = try GPT(configuration: configuration.modelConfiguration(vocabularySize: 13), generator: &generator)
        let trainer = try Trainer(model: model, dataset: TokenDataset(tokens: ids), configuration: configuration, parallelism: Parallelism(threads: 1))
        var evaluations: [Int] = []
        let summary = try trainer.run(
            outputDirectory: temporaryDirectory(), tokenizer: nil, runDescription: RunDescription(command: "train"),
            shouldStop: { true }
        ) { event in
            if case .evaluation(let step, _, _) = event { evaluations.append(step) }
        }
        #expect(evaluations == [0])
        #expect(summary.interrupted && summary.iterations == 0)
        #expect(summary.validationLoss.isFinite)
    }
}

import GPTTokenizer

enum CharacterTokenizerFactory {
    static func make(_ scalars: [Unicode.Scalar]) -> CharacterTokenizer { CharacterTokenizer(scalars: scalars) }
}

/// Mixed-precision training runs (bf16 products) against fp32 runs of the same seed.
@Suite struct BFloat16TrainerTests {
    func losses(precision: Precision, level: KernelLevel = .best, steps: Int) throws -> (trainer: Trainer, losses: [Float]) {
        var configuration = TrainerTests.tinyConfiguration()
        configuration.seed = 11
        configuration.precision = precision
        configuration.maxIterations = steps
        configuration.decayIterations = steps
        let text = DefaultCorpus.text(characters: 20_000)
        let scalars = Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value }
        let ids = text.unicodeScalars.map { Int32(scalars.firstIndex(of: $0)!) }
        var generator = RandomGenerator(seed: 11)
        let model = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: scalars.count), generator: &generator)
        let trainer = try Trainer(
            model: model, dataset: TokenDataset(tokens: ids), configuration: configuration,
            parallelism: Parallelism(threads: 2), kernelLevel: level)
        var timing = StepTiming()
        return (trainer, try (0..<steps).map { try trainer.step(iteration: $0, timing: &timing) })
    }

    /// 300 steps of the same seed: the logged losses differ by less than 0.02 on average (measured
    /// 0.0017 on an Intel Xeon, family 6 model 207), and both runs learn.
    @Test(.enabled(if: Precision.isBFloat16Available(at: .best), "this CPU has no AVX512-BF16"))
    func aBF16RunTracksTheFP32Run() throws {
        let full = try losses(precision: .fp32, steps: 300)
        let half = try losses(precision: .bf16, steps: 300)
        #expect(half.trainer.precision == .bf16 && half.trainer.precisionNotice == nil)
        var difference: Float = 0
        for (a, b) in zip(full.losses, half.losses) { difference += abs(a - b) / 300 }
        #expect(difference < 0.02, "mean absolute difference \(difference)")
        #expect(half.losses != full.losses)
        let first: Float = half.losses.prefix(5).reduce(0, +) / 5
        let last: Float = half.losses.suffix(20).reduce(0, +) / 20
        #expect(last < first - 0.5, "bf16 losses \(first) → \(last)")
        #expect(try losses(precision: .bf16, steps: 300).losses == half.losses, "the same seed gives the same bf16 run")
    }

    @Test func belowAVX512BF16ARunFallsBackToFP32WithTheNotice() throws {
        guard KernelLevel.best >= .avx2 else { return }  // the forced level must be below the CPU's own
        let half = try losses(precision: .bf16, level: .avx2, steps: 5)
        let full = try losses(precision: .fp32, level: .avx2, steps: 5)
        #expect(half.trainer.precision == .fp32)
        #expect(half.trainer.precisionNotice?.contains("AVX512-BF16") == true)
        #expect(half.losses == full.losses)
    }
}
