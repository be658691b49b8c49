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
            gets config.json, model.safetensors and the tokenizer, rewritten atomically at every evaluation, \
            and a checkpoint (training.json + training_state-N.safetensors) for gpt train --resume DIR.
            """)

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Data") var vocabulary: VocabularyOptions
    @Option(help: "Output model directory.") var out: String?
    @Flag(help: "Replace a model already in --out.") var overwrite = false
    @Flag(help: "Also keep the best-by-validation weights in DIR/best/.") var keepBest = false
    @Option(help: "Write JSON lines (one per step and per evaluation) to this file.") var log: String?
    @OptionGroup var resumeOptions: ResumeOptions
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Data parallel (under mpirun)") var distributed: DistributedOptions

    func validate() throws {
        if out?.isEmpty == true { throw ValidationError("--out must name a directory (got an empty path)") }
        if resumeOptions.resume != nil {
            let others = model.given + training.given.filter { $0 != "max-iters" && $0 != "grad-accum" }
                + (distributed.shardOptimizer ? ["shard-optimizer"] : [])
                + (out == nil ? [] : ["out"]) + (log == nil ? [] : ["log"]) + (options.preset == nil ? [] : ["preset"])
                + (options.config == nil ? [] : ["config"]) + (data.data == nil ? [] : ["data"])
                + (data.valData == nil ? [] : ["val-data"]) + (vocabulary.tokenizer == "char" ? [] : ["tokenizer"])
                + (vocabulary.vocabSize == nil ? [] : ["vocab-size"])
                + (overwrite ? ["overwrite"] : []) + (keepBest ? ["keep-best"] : [])
            if let first = others.first {
                throw ValidationError(
                    "--resume continues the saved run and takes no --\(first); only --max-iters may be raised (and --grad-accum set on another number of ranks)")
            }
        } else if out == nil {
            throw ValidationError("give --out DIR (or --resume DIR)")
        }
    }

    func run() throws {
        try Ranks.start()
        if let directory = resumeOptions.resume {
            try resume(directory)
            return
        }
        let parallelism = threads.parallelism
        let configuration = try options.resolve(model: model, training: training)
        let outputDirectory = URL(fileURLWithPath: out!)
        if ModelDirectory.containsModel(outputDirectory) && !overwrite {
            throw ValidationError("\(out!) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        // Data and tokenizer (text is tokenized once into a cached token file), then every size
        // checked against this machine's memory, all before the output directory is touched.
        let prepared = try Ranks.rankZeroFirst {
            try data.prepare(outputDirectory: outputDirectory, threads: parallelism.threads, vocabulary: vocabulary)
        }
        let (dataset, tokenizer, vocabularySize) = (prepared.dataset, prepared.tokenizer, prepared.vocabularySize)
        try dataset.validate(contextLength: configuration.contextLength)
        let modelConfiguration = configuration.modelConfiguration(vocabularySize: vocabularySize)
        try FlagNames.translating { try modelConfiguration.validate() }
        try TrainingRun.requireMemory(model: modelConfiguration, training: configuration)
        try AtomicFile.createDirectory(outputDirectory)

        var generator = RandomGenerator(seed: configuration.seed)
        let gpt = try GPT(configuration: modelConfiguration, generator: &generator)
        let trainer = try Trainer(
            model: gpt, dataset: dataset, configuration: configuration, parallelism: parallelism,
            dataParallelism: Ranks.dataParallelism(shardsOptimizer: distributed.shardOptimizer))
        Terminal.notice("training on \(prepared.summary)")
        Terminal.notice(
            "\(Terminal.grouped(Double(dataset.training.count))) training and \(Terminal.grouped(Double(dataset.validation.count))) validation tokens, vocabulary \(vocabularySize)")
        Terminal.notice(
            "model: \(Terminal.counted(configuration.layerCount, "layer")), \(Terminal.counted(configuration.headCount, "head")), \(configuration.embeddingSize) dims, context \(configuration.contextLength), \(Terminal.counted(gpt.parameterCount, "parameter")); \(Terminal.counted(trainer.context.parallelism.threads, "thread"))")
        if tokenizer == nil {
            Terminal.notice("note: no tokenizer is saved with the model; pass --tokenizer to sample and eval")
        }
        if Ranks.communicator.isWriter {
            if ModelDirectory.containsModel(outputDirectory) {
                TrainingCheckpoint.remove(from: outputDirectory)  // --overwrite: the old run's checkpoint goes too
            }
            try TokenCounts.write(dataset.training, vocabularySize: vocabularySize, to: outputDirectory)
        }
        var run = data.description(command: "train", vocabularySize: vocabularySize, keepBest: keepBest, log: log)
        try prepared.describe(&run, tokenizerOption: vocabulary.tokenizer, threads: parallelism.threads)
        Ranks.describe(&run, shardsOptimizer: distributed.shardOptimizer)
        try TrainingRun(trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory, description: run, resume: nil).run()
    }

    /// `--resume DIR`: the recorded run, its data checked unchanged, its tokenizer file made again
    /// from the record when it was deleted.
    private func resume(_ directory: String) throws {
        let checkpoint = try TrainingRun.checkpoint(in: directory, command: "train")
        let configuration = try TrainingRun.configuration(
            of: checkpoint, maxIterations: training.maxIterations, gradientAccumulation: training.gradientAccumulation)
        let parallelism = TrainingRun.parallelism(resuming: checkpoint.run, options: threads)
        let outputDirectory = URL(fileURLWithPath: directory)
        let gpt = try ModelDirectory.loadModel(outputDirectory)
        let saved = try TokenizerFiles.load(in: outputDirectory)
        let (data, vocabulary) = try DataOptions.restore(checkpoint.run)
        let prepared = try Ranks.rankZeroFirst {
            try data.prepare(outputDirectory: outputDirectory, threads: parallelism.threads, vocabulary: vocabulary, tokenizer: saved)
        }
        try prepared.requireUnchanged(since: checkpoint.run)
        if let tokenizer = prepared.tokenizer, let recorded = checkpoint.run.tokenizerHash, try PreparedData.hash(tokenizer) != recorded {
            throw ValidationError(
                saved == nil
                    ? "\(directory) lost its tokenizer file (\(TokenizerDescription.fileName)) and the one made again from the record differs; restore the file to resume"
                    : "\(directory)/\(TokenizerDescription.fileName) changed since the run started; restore it to resume")
        }
        if saved == nil, let tokenizer = prepared.tokenizer, Ranks.communicator.isWriter {
            guard checkpoint.run.tokenizerHash != nil else {
                throw ValidationError(
                    "\(directory) has no tokenizer file (\(TokenizerDescription.fileName)) and its checkpoint does not record how it was made; restore the file to resume")
            }
            try AtomicFile.write(tokenizer.description.encoded(), to: outputDirectory.appendingPathComponent(TokenizerDescription.fileName))
            Terminal.notice("note: made the missing tokenizer file again from the checkpoint's record (\(tokenizer.kind))")
        }
        let trainer = try Trainer(
            model: gpt, dataset: prepared.dataset, configuration: configuration, parallelism: parallelism,
            dataParallelism: Ranks.dataParallelism(shardsOptimizer: checkpoint.run.shardOptimizer))
        try TrainingRun(
            trainer: trainer, tokenizer: prepared.tokenizer, outputDirectory: outputDirectory,
            description: Ranks.describing(checkpoint.run), resume: checkpoint
        ).run()
    }
}
