import Foundation
import GPTModel
import GPTTensor

/// Measures training speed on random tokens: tokens/s, a forward / backward / optimizer
/// breakdown, achieved GFLOP/s, and the BLAS's own sgemm GFLOP/s on the model's largest
/// matrix product with the same threads, measured in the same run.
public struct TrainingBenchmark: Sendable {
    public struct Result: Sendable {
        public let steps: Int
        public let tokensPerSecond: Double
        public let timing: StepTiming
        public let flopsPerStep: Double
        public let achievedGigaflops: Double
        /// The ceilings probed before and after the steps; the share of sgemm is of the better probe.
        public let ceilings: CeilingProbes
        public var sgemmGigaflops: Double { ceilings.best.sgemmGigaflops }
        /// Resident memory right after the timed steps, in bytes (the probes' buffers are freed by then).
        public let residentBytes: Int
        /// The peak resident memory from building the model to the end of the timed steps (the first
        /// probe's buffers left out where the system can reset the peak: Linux).
        public let peakResidentBytes: Int
        /// Parameters the optimizer updates (the adapter's alone with LoRA).
        public let trainedParameterCount: Int
        /// (rows, inner, columns) of the product sgemm was measured on.
        public let sgemmShape: (Int, Int, Int)
        public let parameterCount: Int
        public let finalLoss: Float
        /// Data-parallel runs: the ranks; the gradient exchange as the steps do it and, for comparison,
        /// MPI's own blocking all-reduce, each of the whole gradient buffer (bytes, median seconds of 3)
        /// timed after the steps.
        public let ranks: Int
        public let exchangeMethod: String
        public let exchange: (bytes: Int, seconds: Double)?
        public let allReduce: (bytes: Int, seconds: Double)?
        /// The precision the products ran in, and why it is not the configured one (nil when it is).
        public let precision: Precision
        public let precisionNotice: String?
        /// `Kernels.bf16Multiply`'s GFLOP/s on the sgemm probe's shape, same threads, measured after the
        /// steps (nil where bf16 does not run).
        public let bf16Gigaflops: Double?
    }

    public let configuration: TrainingConfiguration
    public let vocabularySize: Int
    public let parallelism: Parallelism
    /// The instruction level the C kernels run at.
    public let kernelLevel: KernelLevel
    /// Train a LoRA adapter over the frozen model instead of the model.
    public let lora: LoRAConfiguration?
    /// Several ranks under mpirun: each runs the steps on its share of the global batch.
    public let dataParallelism: DataParallelism

    public init(
        configuration: TrainingConfiguration, vocabularySize: Int, parallelism: Parallelism, kernelLevel: KernelLevel = .best,
        lora: LoRAConfiguration? = nil, dataParallelism: DataParallelism = .single
    ) {
        self.lora = lora
        self.dataParallelism = dataParallelism
        self.configuration = configuration
        self.vocabularySize = vocabularySize
        self.parallelism = parallelism
        self.kernelLevel = kernelLevel
    }

    public func run(steps: Int, warmupSteps: Int) throws -> Result {
        // The ceilings first, while no other work has run in this process.
        let (B0, T0) = (configuration.batchSize, configuration.contextLength)
        let modelConfiguration = configuration.modelConfiguration(vocabularySize: vocabularySize)
        let shape = largestProduct(
            rows: B0 * T0, channels: configuration.embeddingSize, mlpSize: modelConfiguration.mlpSize, vocabulary: vocabularySize)
        let before = MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism)
        resetPeakResidentMemory()
        var generator = RandomGenerator(seed: configuration.seed)
        let model = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: vocabularySize), generator: &generator)
        let adapter = try lora.map { try LoRAAdapter(configuration: $0, model: model.configuration, generator: &generator) }
        let (B, T) = (configuration.batchSize, configuration.contextLength)
        let tokens = (0..<(B * T * 4 + T + 1)).map { _ in Int32(generator.nextInt(below: vocabularySize)) }
        let dataset = TokenDataset(training: tokens, validation: tokens)
        let trainer = try Trainer(
            model: model, adapter: adapter, dataset: dataset, configuration: configuration, parallelism: parallelism,
            kernelLevel: kernelLevel, dataParallelism: dataParallelism)
        var timing = StepTiming()
        for iteration in 0..<warmupSteps { _ = try trainer.step(iteration: iteration, timing: &timing) }
        timing = StepTiming()
        var loss: Float = 0
        for iteration in 0..<steps { loss = try trainer.step(iteration: warmupSteps + iteration, timing: &timing) }
        let resident = residentMemoryBytes()
        let peak = peakResidentMemoryBytes()
        let communicator = dataParallelism.communicator
        var allReduce: (bytes: Int, seconds: Double)?
        var exchange: (bytes: Int, seconds: Double)?
        if communicator.isDistributed {
            let gradients = trainer.session.trainedGradients
            var seconds: [Double] = []
            var exchangeSeconds: [Double] = []
            for _ in 0..<3 {
                exchangeSeconds.append(try trainer.timeGradientExchange())
                try communicator.barrier()
                let start = monotonicSeconds()
                try communicator.sum(gradients.pointer, count: gradients.count)
                seconds.append(monotonicSeconds() - start)
            }
            allReduce = (gradients.count * 4, seconds.sorted()[1])
            exchange = (gradients.count * 4, exchangeSeconds.sorted()[1])
        }
        let bf16 = Kernels.measureBFloat16Gigaflops(rows: shape.0, inner: shape.1, columns: shape.2, context: trainer.context)
        let ceilings = CeilingProbes(before: before, after: MachineCeilings.probe(sgemmShape: shape, parallelism: parallelism))
        var perStep = StepTiming(
            forward: timing.forward / Double(steps), backward: timing.backward / Double(steps),
            optimizer: timing.optimizer / Double(steps))
        perStep.communication = timing.communication / Double(steps)
        perStep.wait = timing.wait / Double(steps)
        let c = model.configuration
        // nanoGPT's estimate: 6·N per token (N without position embeddings) + 12·L·C·T for attention.
        // A frozen model computes no weight gradients: 4·N, plus the adapter's own 6 per factor value.
        let positionCount = c.position == .learned ? c.contextLength * c.embeddingSize : 0
        let perParameter: Double = adapter == nil ? 6 : 4
        let perToken = perParameter * Double(model.parameterCount - positionCount) + 6 * Double(adapter?.layout.count ?? 0)
            + 12 * Double(c.layerCount * c.embeddingSize * T)
        // Per rank: each computes its own share of the global batch.
        let flopsPerStep = perToken * Double(B * T * configuration.gradientAccumulation)
        let globalTokens = Double(B * T * trainer.globalMicroBatches)
        return Result(
            steps: steps, tokensPerSecond: globalTokens / perStep.total, timing: perStep, flopsPerStep: flopsPerStep,
            achievedGigaflops: flopsPerStep / perStep.total / 1e9,
            ceilings: ceilings, residentBytes: resident, peakResidentBytes: peak,
            trainedParameterCount: trainer.optimizer.trainableCount,
            sgemmShape: shape, parameterCount: model.parameterCount, finalLoss: loss, ranks: communicator.size,
            exchangeMethod: trainer.exchangeMethod, exchange: exchange, allReduce: allReduce, precision: trainer.precision,
            precisionNotice: trainer.precisionNotice, bf16Gigaflops: bf16)
    }

    /// The forward product with the most work: C→H, H→C (H: the MLP width) or the unembedding C→V.
    func largestProduct(rows: Int, channels: Int, mlpSize: Int, vocabulary: Int) -> (Int, Int, Int) {
        let candidates = [(rows, channels, mlpSize), (rows, mlpSize, channels), (rows, channels, vocabulary)]
        return candidates.max { $0.1 * $0.2 < $1.1 * $1.2 }!
    }
}
