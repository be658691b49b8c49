import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTTraining

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue training a model (ours or a Hugging Face GPT-2 directory) on new text.",
        discussion: """
            The model keeps its architecture and tokenizer; text the tokenizer cannot encode is an error. \
            Training options (and --preset/--config) set the recipe; the model's own shape flags are not taken. \
            With --lora (or any --lora-* option) the model stays frozen and --out receives a LoRA adapter in \
            PEFT's format (adapter_config.json, adapter_model.safetensors); use it with --adapter DIR or \
            merge it with gpt lora merge.
            """)

    @Option(help: "The model to start from.") var from: String?
    @OptionGroup(title: "Data") var data: DataOptions
    @Option(help: "Output model directory.") var out: String?
    @Flag(help: "Replace a model already in --out.") var overwrite = false
    @Flag(help: "Also keep the best-by-validation weights in DIR/best/.") var keepBest = false
    @Option(help: "Write JSON lines to this file.") var log: String?
    @Flag(help: "Do not train the token and position embeddings (with tied embeddings, the unembedding too).")
    var freezeEmbeddings = false
    @Option(parsing: .unconditional, help: "Do not train the first K transformer blocks.") var freezeLayers = 0
    @Flag(help: "Train only the final LayerNorm and the unembedding.") var trainHeadOnly = false
    @OptionGroup(title: "LoRA") var loraOptions: LoRAOptions
    @OptionGroup var resumeOptions: ResumeOptions
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Data parallel (under mpirun)") var distributed: DistributedOptions

    var freezing: Freezing { Freezing(embeddings: freezeEmbeddings, layers: freezeLayers, headOnly: trainHeadOnly) }

    func validate() throws {
        if out?.isEmpty == true { throw ValidationError("--out must name a directory (got an empty path)") }
        if resumeOptions.resume == nil {
            guard from != nil, out != nil else { throw ValidationError("give --from DIR and --out DIR (or --resume DIR)") }
            guard data.data != nil else { throw ValidationError("give --data FILE to fine-tune on") }
        }
        try FlagNames.translating { try freezing.validate() }
        if loraOptions.isEnabled && freezing != Freezing() {
            throw ValidationError("--lora trains only the adapter (the model is frozen); it does not take --freeze-* or --train-head-only")
        }
        if loraOptions.isEnabled && resumeOptions.resume != nil {
            throw ValidationError("--resume takes the adapter's saved settings; do not give --lora options with it")
        }
    }

    func run() throws {
        try Ranks.start()
        var parallelism = threads.parallelism
        if let directory = resumeOptions.resume {
            let checkpoint = try TrainingRun.checkpoint(in: directory, command: "finetune")
            parallelism = TrainingRun.parallelism(resuming: checkpoint.run, options: threads)
            let configuration = try TrainingRun.configuration(
                of: checkpoint, maxIterations: training.maxIterations, gradientAccumulation: training.gradientAccumulation)
            let outputDirectory = URL(fileURLWithPath: directory)
            // A LoRA run's directory holds the adapter; the model is the base it names.
            // A LoRA base may be a quantized GGUF file: its matrices stay as stored (.inference).
            let (gpt, tokenizer) = try loadModelAndTokenizer(
                model: checkpoint.run.loraBase ?? directory, tokenizer: nil, use: checkpoint.run.loraBase == nil ? .training : .inference)
            let adapter = try checkpoint.run.loraBase.map { _ in
                try LoRAAdapter(configuration: try AdapterDirectory.loadConfiguration(outputDirectory), model: gpt.configuration)
            }
            let prepared = try Ranks.rankZeroFirst {
                try DataOptions.restore(checkpoint.run).0.prepare(
                    outputDirectory: outputDirectory, threads: parallelism.threads, tokenizer: tokenizer)
            }
            try prepared.requireUnchanged(since: checkpoint.run)
            let trainer = try Trainer(
                model: gpt, adapter: adapter, dataset: prepared.dataset, configuration: configuration,
                parallelism: parallelism, freezing: checkpoint.run.freezing,
                dataParallelism: Ranks.dataParallelism(shardsOptimizer: checkpoint.run.shardOptimizer))
            try TrainingRun(
                trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory,
                description: Ranks.describing(checkpoint.run), resume: checkpoint
            ).run()
            return
        }
        let source = URL(fileURLWithPath: from!)
        // LoRA trains over a quantized GGUF base in place (no dense copy); full fine-tuning needs Float32 weights.
        let (gpt, tokenizer) = try loadModelAndTokenizer(model: from!, tokenizer: nil, use: loraOptions.isEnabled ? .inference : .training)
        var configuration = try options.resolve(model: try ModelOptions.parse([]), training: training)
        // The architecture is the source model's.
        let c = gpt.configuration
        try freezing.validate(layerCount: c.layerCount)
        (configuration.layerCount, configuration.headCount, configuration.embeddingSize) = (c.layerCount, c.headCount, c.embeddingSize)
        configuration.contextLength = min(configuration.contextLength, c.contextLength)
        let outputDirectory = URL(fileURLWithPath: out!)
        if (ModelDirectory.containsModel(outputDirectory) || AdapterDirectory.containsAdapter(outputDirectory)) && !overwrite {
            throw ValidationError("\(out!) already holds a model or an adapter; pass --overwrite to replace it or choose another --out")
        }
        let adapter = try makeAdapter(for: gpt, seed: configuration.seed)
        try TrainingRun.requireMemory(model: c, training: configuration)
        let prepared: PreparedData
        do {
            prepared = try Ranks.rankZeroFirst {
                try data.prepare(outputDirectory: outputDirectory, threads: parallelism.threads, tokenizer: tokenizer)
            }
        } catch let error as TokenizerError {
            throw ValidationError(
                "the model's tokenizer cannot encode \(data.data!): \(error.message) — fine-tune on text it covers, or train a new model with its own tokenizer")
        }
        let dataset = prepared.dataset
        try dataset.validate(contextLength: configuration.contextLength)
        try AtomicFile.createDirectory(outputDirectory)
        if Ranks.communicator.isWriter { TrainingCheckpoint.remove(from: outputDirectory) }
        let trainer = try Trainer(
            model: gpt, adapter: adapter, dataset: dataset, configuration: configuration, parallelism: parallelism,
            freezing: freezing, dataParallelism: Ranks.dataParallelism(shardsOptimizer: distributed.shardOptimizer))
        let what = adapter.map {
            "a LoRA adapter (rank \($0.rank), alpha \($0.configuration.alpha), \($0.configuration.targets.joined(separator: ","))) over "
        } ?? ""
        Terminal.notice(
            "fine-tuning \(what)\(source.path) (\(Terminal.grouped(Double(gpt.parameterCount))) parameters, \(Terminal.grouped(Double(trainer.optimizer.trainableCount))) trained) on \(data.data!): \(Terminal.grouped(Double(dataset.training.count))) training tokens")
        if !gpt.storesMatrices {
            let weights = gpt.inferenceWeights
            let stored = weights.storageBytes + (gpt.configuration.tiesEmbeddings ? 0 : weights.tokenEmbedding.storageBytes)
            let dense = (gpt.parameterCount - gpt.layout.count) * 4
            Terminal.notice(
                "the base's matrices stay as stored in \(source.lastPathComponent): \(CheckedSize.describe(bytes: stored)) instead of \(CheckedSize.describe(bytes: dense)) as Float32")
        }
        var run = data.description(command: "finetune", vocabularySize: c.vocabularySize, keepBest: keepBest, log: log)
        run.freezing = freezing
        if adapter != nil { run.loraBase = source.standardizedFileURL.path }
        try prepared.describe(&run, tokenizerOption: nil, threads: parallelism.threads)
        Ranks.describe(&run, shardsOptimizer: distributed.shardOptimizer)
        try TrainingRun(trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory, description: run, resume: nil).run()
    }

    /// A new adapter for `model` (PEFT's initialisation from the run's seed), or nil without --lora.
    func makeAdapter(for model: GPT, seed: UInt64) throws -> LoRAAdapter? {
        guard loraOptions.isEnabled else { return nil }
        var generator = RandomGenerator(seed: seed ^ 0x4C6F_5241)
        do {
            return try LoRAAdapter(
                configuration: loraOptions.configuration(baseModel: from!), model: model.configuration, generator: &generator)
        } catch let error as ModelError {
            throw ValidationError(error.message)
        }
    }
}
