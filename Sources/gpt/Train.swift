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

    func validate() throws {
        if resumeOptions.resume != nil {
            let others = model.given + training.given.filter { $0 != "max-iters" }
                + (out == nil ? [] : ["out"]) + (log == nil ? [] : ["log"]) + (options.preset == nil ? [] : ["preset"])
                + (options.config == nil ? [] : ["config"]) + (data.data == nil ? [] : ["data"])
                + (data.valData == nil ? [] : ["val-data"]) + (vocabulary.tokenizer == "char" ? [] : ["tokenizer"])
                + (vocabulary.vocabSize == nil ? [] : ["vocab-size"])
                + (overwrite ? ["overwrite"] : []) + (keepBest ? ["keep-best"] : [])
            if let first = others.first {
                throw ValidationError("--resume continues the saved run and takes no --\(first); only --max-iters may be raised")
            }
        } else if out == nil {
            throw ValidationError("give --out DIR (or --resume DIR)")
        }
    }

    func run() throws {
        let parallelism = threads.parallelism
        if let directory = resumeOptions.resume {
            let checkpoint = try TrainingRun.checkpoint(in: directory, command: "train")
            let configuration = try TrainingRun.configuration(of: checkpoint, maxIterations: training.maxIterations)
            let outputDirectory = URL(fileURLWithPath: directory)
            let gpt = try ModelDirectory.loadModel(outputDirectory)
            let saved = try? ModelDirectory.loadTokenizer(outputDirectory)
            let (data, vocabulary) = try DataOptions.restore(checkpoint.run)
            let (dataset, tokenizer, _, _) = try data.prepare(
                outputDirectory: outputDirectory, threads: parallelism.threads, vocabulary: vocabulary, tokenizer: saved)
            let trainer = Trainer(model: gpt, dataset: dataset, configuration: configuration, parallelism: parallelism)
            try TrainingRun(
                trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory,
                description: checkpoint.run, resume: checkpoint
            ).run()
            return
        }
        let configuration = try options.resolve(model: model, training: training)
        let outputDirectory = URL(fileURLWithPath: out!)
        if ModelDirectory.containsModel(outputDirectory) && !overwrite {
            throw ValidationError("\(out!) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        try AtomicFile.createDirectory(outputDirectory)

        // Data and tokenizer (text is tokenized once into a cached token file).
        let (dataset, tokenizer, vocabularySize, description) = try data.prepare(
            outputDirectory: outputDirectory, threads: parallelism.threads, vocabulary: vocabulary)
        try dataset.validate(contextLength: configuration.contextLength)

        var generator = RandomGenerator(seed: configuration.seed)
        let gpt = try GPT(
            configuration: configuration.modelConfiguration(vocabularySize: vocabularySize), generator: &generator)
        let trainer = Trainer(model: gpt, dataset: dataset, configuration: configuration, parallelism: parallelism)
        Terminal.notice("training on \(description)")
        Terminal.notice(
            "\(Terminal.grouped(Double(dataset.training.count))) training and \(Terminal.grouped(Double(dataset.validation.count))) validation tokens, vocabulary \(vocabularySize)")
        Terminal.notice(
            "model: \(Terminal.counted(configuration.layerCount, "layer")), \(Terminal.counted(configuration.headCount, "head")), \(configuration.embeddingSize) dims, context \(configuration.contextLength), \(Terminal.counted(gpt.parameterCount, "parameter")); \(Terminal.counted(trainer.context.parallelism.threads, "thread"))")
        if tokenizer == nil {
            Terminal.notice("note: no tokenizer is saved with the model; pass --tokenizer to sample and eval")
        }
        if ModelDirectory.containsModel(outputDirectory) {
            TrainingCheckpoint.remove(from: outputDirectory)  // --overwrite: the old run's checkpoint goes too
        }
        try TokenCounts.write(dataset.training, vocabularySize: vocabularySize, to: outputDirectory)
        try TrainingRun(
            trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory,
            description: data.description(command: "train", vocabularySize: vocabularySize, keepBest: keepBest, log: log),
            resume: nil
        ).run()
    }
}
