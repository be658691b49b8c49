import ArgumentParser
import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTokenizer
import GPTTraining

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small student model from a teacher's softened predictions (knowledge distillation).",
        discussion: """
            loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·cross-entropy(student, labels). \
            The teacher runs forward only; student and teacher share the teacher's tokenizer.
            """)

    @Option(help: "The teacher model directory.") var teacher: String?
    @OptionGroup(title: "Data") var data: DataOptions
    @Option(help: "Output (student) model directory.") var out: String?
    @Flag(help: "Replace a model already in --out.") var overwrite = false
    @Flag(help: "Also keep the best-by-validation weights in DIR/best/.") var keepBest = false
    @Option(help: "Write JSON lines to this file.") var log: String?
    @Option(parsing: .unconditional, help: "Distillation temperature T.") var temperature: Float = 2
    @Option(parsing: .unconditional, help: "Weight α of the distillation term (1 − α weighs the labels).") var alpha: Float = 0.5
    @OptionGroup var resumeOptions: ResumeOptions
    @OptionGroup var options: ConfigurationOptions
    @OptionGroup(title: "Student model") var model: ModelOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup(title: "Data parallel (under mpirun)") var distributed: DistributedOptions

    func validate() throws {
        if out?.isEmpty == true { throw ValidationError("--out must name a directory (got an empty path)") }
        if resumeOptions.resume == nil {
            guard teacher != nil, out != nil else { throw ValidationError("give --teacher DIR and --out DIR (or --resume DIR)") }
        }
        try FlagNames.translating { try Distillation.validate(temperature: temperature, alpha: alpha) }
    }

    func run() throws {
        try Ranks.start()
        var parallelism = threads.parallelism
        if let directory = resumeOptions.resume {
            let checkpoint = try TrainingRun.checkpoint(in: directory, command: "distill")
            parallelism = TrainingRun.parallelism(resuming: checkpoint.run, options: threads)
            let configuration = try TrainingRun.configuration(
                of: checkpoint, maxIterations: training.maxIterations, gradientAccumulation: training.gradientAccumulation)
            let outputDirectory = URL(fileURLWithPath: directory)
            let (student, tokenizer) = try loadModelAndTokenizer(model: directory, tokenizer: nil)
            guard let teacherPath = checkpoint.run.teacher else {
                throw ValidationError("\(directory)/training.json does not name the teacher; it is corrupt")
            }
            let distillation = try Distillation(
                teacher: try Self.loadTeacher(teacherPath, tokenizer: tokenizer, student: student.configuration),
                temperature: checkpoint.run.temperature ?? temperature, alpha: checkpoint.run.alpha ?? alpha)
            let prepared = try Ranks.rankZeroFirst {
                try DataOptions.restore(checkpoint.run).0.prepare(
                    outputDirectory: outputDirectory, threads: parallelism.threads, tokenizer: tokenizer)
            }
            try prepared.requireUnchanged(since: checkpoint.run)
            let trainer = try Trainer(
                model: student, dataset: prepared.dataset, configuration: configuration, parallelism: parallelism,
                distillation: distillation, dataParallelism: Ranks.dataParallelism(shardsOptimizer: checkpoint.run.shardOptimizer))
            try TrainingRun(
                trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory,
                description: Ranks.describing(checkpoint.run), resume: checkpoint
            ).run()
            return
        }
        let teacherDirectory = URL(fileURLWithPath: teacher!)
        let (teacherModel, tokenizer) = try loadModelAndTokenizer(model: teacher!, tokenizer: nil, use: .dense)
        let configuration = try options.resolve(model: model, training: training)
        let studentConfiguration = configuration.modelConfiguration(vocabularySize: tokenizer.vocabularySize)
        try Self.check(teacher: teacherModel, student: studentConfiguration)
        let outputDirectory = URL(fileURLWithPath: out!)
        if ModelDirectory.containsModel(outputDirectory) && !overwrite {
            throw ValidationError("\(out!) already holds a model; pass --overwrite to replace it or choose another --out")
        }
        try FlagNames.translating { try studentConfiguration.validate() }
        try TrainingRun.requireMemory(model: studentConfiguration, training: configuration)
        let prepared = try Ranks.rankZeroFirst {
            try data.prepare(outputDirectory: outputDirectory, threads: parallelism.threads, tokenizer: tokenizer)
        }
        let dataset = prepared.dataset
        try dataset.validate(contextLength: configuration.contextLength)
        try AtomicFile.createDirectory(outputDirectory)
        if Ranks.communicator.isWriter { TrainingCheckpoint.remove(from: outputDirectory) }
        var generator = RandomGenerator(seed: configuration.seed)
        let student = try GPT(configuration: studentConfiguration, generator: &generator)
        let distillation = try Distillation(teacher: teacherModel, temperature: temperature, alpha: alpha)
        let trainer = try Trainer(
            model: student, dataset: dataset, configuration: configuration, parallelism: parallelism, distillation: distillation,
            dataParallelism: Ranks.dataParallelism(shardsOptimizer: distributed.shardOptimizer))
        Terminal.notice(
            "distilling \(teacherDirectory.path) (\(Terminal.grouped(Double(teacherModel.parameterCount))) parameters) into a \(Terminal.grouped(Double(student.parameterCount)))-parameter student, T = \(temperature), α = \(alpha)")
        var run = data.description(command: "distill", vocabularySize: tokenizer.vocabularySize, keepBest: keepBest, log: log)
        run.teacher = teacherDirectory.path
        run.temperature = temperature
        run.alpha = alpha
        try prepared.describe(&run, tokenizerOption: nil, threads: parallelism.threads)
        Ranks.describe(&run, shardsOptimizer: distributed.shardOptimizer)
        try TrainingRun(trainer: trainer, tokenizer: tokenizer, outputDirectory: outputDirectory, description: run, resume: nil).run()
    }

    /// The teacher, checked to share the tokenizer and to see at least the student's context.
    static func loadTeacher(_ path: String, tokenizer: any Tokenizer, student: GPTConfiguration) throws -> GPT {
        let (teacher, teacherTokenizer) = try loadModelAndTokenizer(model: path, tokenizer: nil, use: .dense)
        let sameTokenizer = try teacherTokenizer.description.encoded() == tokenizer.description.encoded()
        try check(teacher: teacher, student: student, sameTokenizer: sameTokenizer)
        return teacher
    }

    /// The teacher shares the student's tokenizer and vocabulary and covers its context.
    static func check(teacher: GPT, student: GPTConfiguration, sameTokenizer: Bool = true) throws {
        guard sameTokenizer, teacher.configuration.vocabularySize == student.vocabularySize else {
            throw ValidationError(
                "the teacher's tokenizer or vocabulary (\(teacher.configuration.vocabularySize)) differs from the student's (\(student.vocabularySize)); they must share one")
        }
        guard student.contextLength <= teacher.configuration.contextLength else {
            throw ValidationError(
                "the student's --context-length \(student.contextLength) exceeds the teacher's \(teacher.configuration.contextLength)")
        }
    }
}
