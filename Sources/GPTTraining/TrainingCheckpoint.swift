import Foundation
import GPTFormats
import GPTModel
import GPTTensor

/// Everything needed to continue a run exactly: weights, optimizer buffers and step, the
/// training random generator (it alone decides batches and dropout), the next iteration,
/// the best validation loss, the resolved configuration and the caller's run description.
///
/// On disk: `training_state-<step>.safetensors` (tensors `parameters.<name>` and
/// `<buffer>.<name>`) and `training.json`, which names that file. Both are written atomically
/// and `training.json` last, so a crash at any moment leaves the previous complete checkpoint.
public struct TrainingCheckpoint {
    public static let fileName = "training.json"

    public var nextIteration: Int
    public var optimizerStep: Int
    public var generator: RandomGenerator
    public var bestValidationLoss: Float
    public var configuration: TrainingConfiguration
    /// What the caller needs to rebuild the data set (paths, tokenizer choice …).
    public var run: RunDescription

    public init(
        nextIteration: Int, optimizerStep: Int, generator: RandomGenerator, bestValidationLoss: Float,
        configuration: TrainingConfiguration, run: RunDescription
    ) {
        self.nextIteration = nextIteration
        self.optimizerStep = optimizerStep
        self.generator = generator
        self.bestValidationLoss = bestValidationLoss
        self.configuration = configuration
        self.run = run
    }

    /// Deletes the checkpoint files in `directory` (a new run replaces an old one).
    public static func remove(from directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name == fileName || (name.hasPrefix("training_state-") && name.hasSuffix(".safetensors")) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    public static func exists(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(fileName).path)
    }

    /// Writes the state file, then `training.json`, then removes older state files.
    public func write(model: GPT, optimizer: Optimizer, to directory: URL) throws {
        try write(layout: model.layout, parameters: model.parameters, optimizer: optimizer, to: directory)
    }

    /// The same for any trained parameters (a model's, or an adapter's) and their layout.
    public func write(layout: ParameterLayout, parameters: FloatBuffer, optimizer: Optimizer, to directory: URL) throws {
        let stateName = String(format: "training_state-%08d.safetensors", nextIteration)
        var records: [TensorRecord] = []
        func add(_ prefix: String, _ buffer: FloatBuffer) {
            let pointer = UnsafePointer(buffer.pointer)
            for tensor in layout.tensors {
                records.append(TensorRecord(
                    name: "\(prefix).\(tensor.name)", shape: tensor.shape,
                    values: UnsafeBufferPointer(start: pointer + tensor.offset, count: tensor.count)))
            }
        }
        add("parameters", parameters)
        for name in optimizer.buffers.keys.sorted() { add(name, optimizer.buffers[name]!) }
        try SafetensorsFile.write(records, metadata: ["format": "swift-gpt-training-state"], to: directory.appendingPathComponent(stateName))
        let file = File(
            formatVersion: 1, nextIteration: nextIteration, optimizerStep: optimizerStep,
            rng: generator.state.map { String($0) }, bestValidationLoss: bestValidationLoss.isFinite ? bestValidationLoss : nil,
            stateFile: stateName, configuration: configuration, run: run)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(file), to: directory.appendingPathComponent(Self.fileName))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix("training_state-") && name.hasSuffix(".safetensors") && name != stateName {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Reads `training.json` in `directory` (without loading tensors).
    public static func read(from directory: URL) throws -> TrainingCheckpoint {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError("\(directory.path) has no checkpoint (\(fileName)); nothing to resume — start with gpt train --out \(directory.path)")
        }
        let file = try File.read(data, source: url.path)
        return TrainingCheckpoint(
            nextIteration: file.nextIteration, optimizerStep: file.optimizerStep,
            generator: RandomGenerator(state: file.rng.compactMap(UInt64.init)), bestValidationLoss: file.bestValidationLoss ?? .infinity,
            configuration: file.configuration, run: file.run)
    }

    /// Loads the weights and optimizer state this checkpoint names.
    public static func restore(model: GPT, optimizer: Optimizer, from directory: URL) throws {
        try restore(layout: model.layout, parameters: model.parameters, optimizer: optimizer, from: directory)
    }

    /// The same for any trained parameters (a model's, or an adapter's) and their layout.
    public static func restore(layout: ParameterLayout, parameters: FloatBuffer, optimizer: Optimizer, from directory: URL) throws {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError("\(url.path) is missing; the checkpoint cannot be resumed")
        }
        let stateName = try File.read(data, source: url.path).stateFile
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(stateName))
        func load(_ prefix: String, into buffer: FloatBuffer) throws {
            for tensor in layout.tensors {
                let name = "\(prefix).\(tensor.name)"
                guard file.tensors[name]?.shape == tensor.shape else {
                    throw TrainingError("\(stateName) lacks \(name) \(tensor.shape); the checkpoint does not match the model")
                }
                try file.read(name, into: buffer.pointer + tensor.offset)
            }
        }
        try load("parameters", into: parameters)
        for (name, buffer) in optimizer.buffers { try load(name, into: buffer) }
    }
}

extension TrainingCheckpoint {
    /// `training.json` (format 1; files written before the typed configuration read the same).
    struct File: Codable {
        var formatVersion: Int
        var nextIteration: Int
        var optimizerStep: Int
        /// The training generator's four state words, as decimal strings (JSON numbers lose 64-bit precision).
        var rng: [String]
        /// nil while no evaluation has run.
        var bestValidationLoss: Float?
        var stateFile: String
        var configuration: TrainingConfiguration
        var run: RunDescription

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version", nextIteration = "next_iteration", optimizerStep = "optimizer_step"
            case rng, bestValidationLoss = "best_val_loss", stateFile = "state_file", configuration, run
        }

        static func read(_ data: Data, source: String) throws -> File {
            guard let file = try? JSONDecoder().decode(File.self, from: data), file.formatVersion == 1,
                file.rng.compactMap(UInt64.init).count == 4, !file.stateFile.contains("/")
            else {
                throw TrainingError("\(source) is corrupt; the checkpoint cannot be resumed")
            }
            // Counts that no run writes: an edited or damaged file, not a place to resume from.
            let steps = file.configuration.maxIterations
            guard file.nextIteration >= 0, file.nextIteration <= steps else {
                throw TrainingError(
                    "\(source) is corrupt: next_iteration \(file.nextIteration) is outside 0…\(steps) (the run's --max-iters); the checkpoint cannot be resumed")
            }
            guard file.optimizerStep >= 0, file.optimizerStep <= file.nextIteration else {
                throw TrainingError(
                    "\(source) is corrupt: optimizer_step \(file.optimizerStep) is outside 0…\(file.nextIteration) (the steps done); the checkpoint cannot be resumed")
            }
            guard file.rng.compactMap(UInt64.init).contains(where: { $0 != 0 }) else {
                throw TrainingError("\(source) is corrupt: the random generator's state is all zeros; the checkpoint cannot be resumed")
            }
            do {
                try file.configuration.validate()
            } catch let error as InvalidValue {
                throw TrainingError("\(source) is corrupt: its configuration's \(error.describe(field: error.field)); the checkpoint cannot be resumed")
            }
            return file
        }
    }
}
