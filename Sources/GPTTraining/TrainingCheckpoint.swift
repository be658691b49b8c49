import Foundation
import GPTFormats
import GPTModel
import GPTTensor

/// Everything needed to continue a run exactly: weights, optimizer buffers and step, the next
/// iteration, the best validation loss, the resolved configuration and the caller's run
/// description. (Batches and dropout are a function of the seed, the step and the micro-batch
/// alone, so no random generator state is kept.)
///
/// On disk: `training_state-<step>.safetensors` (tensors `parameters.<name>` and
/// `<buffer>.<name>`) and `training.json`, which names that file. With the optimizer sharded over
/// data-parallel ranks (ZeRO-1), each rank's slice of the optimizer state is its own file,
/// `training_state-<step>-rank<r>.safetensors`. Every file is written atomically and
/// `training.json` last, by rank 0 once every rank has written, so a crash at any moment leaves the
/// previous complete checkpoint.
public struct TrainingCheckpoint {
    public static let fileName = "training.json"

    public var nextIteration: Int
    public var optimizerStep: Int
    public var bestValidationLoss: Float
    public var configuration: TrainingConfiguration
    /// What the caller needs to rebuild the data set (paths, tokenizer choice …).
    public var run: RunDescription

    public init(
        nextIteration: Int, optimizerStep: Int, bestValidationLoss: Float, configuration: TrainingConfiguration,
        run: RunDescription
    ) {
        self.nextIteration = nextIteration
        self.optimizerStep = optimizerStep
        self.bestValidationLoss = bestValidationLoss
        self.configuration = configuration
        self.run = run
    }

    static func isStateFile(_ name: String) -> Bool { name.hasPrefix("training_state-") && name.hasSuffix(".safetensors") }

    /// Deletes the checkpoint files in `directory` (a new run replaces an old one).
    public static func remove(from directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name == fileName || isStateFile(name) {
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

    /// The same for any trained parameters (a model's, or an adapter's) and their layout. Every rank
    /// of `communicator` calls it: each writes its optimizer shard (when sharded), rank 0 the
    /// parameters and, once all are written, `training.json`.
    public func write(
        layout: ParameterLayout, parameters: FloatBuffer, optimizer: Optimizer, to directory: URL,
        communicator: Communicator = .single
    ) throws {
        let stateName = String(format: "training_state-%08d.safetensors", nextIteration)
        let sharded = optimizer.owned != 0..<layout.count
        let shardNames = sharded
            ? (0..<communicator.size).map { String(format: "training_state-%08d-rank%d.safetensors", nextIteration, $0) } : []
        if sharded {
            let records = optimizer.buffers.keys.sorted().map { name in
                TensorRecord(
                    name: name, shape: [optimizer.owned.count],
                    values: UnsafeBufferPointer(start: UnsafePointer(optimizer.buffers[name]!.pointer), count: optimizer.owned.count))
            }
            let metadata = [
                "format": "swift-gpt-optimizer-shard", "offset": String(optimizer.owned.lowerBound),
                "parameters": String(layout.count),
            ]
            try SafetensorsFile.write(records, metadata: metadata, to: directory.appendingPathComponent(shardNames[communicator.rank]))
        }
        if communicator.isWriter {
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
            if !sharded { for name in optimizer.buffers.keys.sorted() { add(name, optimizer.buffers[name]!) } }
            try SafetensorsFile.write(records, metadata: ["format": "swift-gpt-training-state"], to: directory.appendingPathComponent(stateName))
        }
        // Every file on disk before the commit marker names them.
        try communicator.barrier()
        guard communicator.isWriter else { return }
        let file = File(
            formatVersion: 1, nextIteration: nextIteration, optimizerStep: optimizerStep,
            bestValidationLoss: bestValidationLoss.isFinite ? bestValidationLoss : nil,
            stateFile: stateName, optimizerShards: sharded ? shardNames : nil, configuration: configuration, run: run)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(file), to: directory.appendingPathComponent(Self.fileName))
        let kept = Set([stateName] + shardNames)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where Self.isStateFile(name) && !kept.contains(name) {
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
            bestValidationLoss: file.bestValidationLoss ?? .infinity, configuration: file.configuration, run: file.run)
    }

    /// Loads the weights and optimizer state this checkpoint names.
    public static func restore(model: GPT, optimizer: Optimizer, from directory: URL) throws {
        try restore(layout: model.layout, parameters: model.parameters, optimizer: optimizer, from: directory)
    }

    /// The same for any trained parameters (a model's, or an adapter's) and their layout. The
    /// optimizer takes the state of the parameters it owns, whether the checkpoint kept it whole or
    /// in shards cut for another number of ranks.
    public static func restore(layout: ParameterLayout, parameters: FloatBuffer, optimizer: Optimizer, from directory: URL) throws {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError("\(url.path) is missing; the checkpoint cannot be resumed")
        }
        let record = try File.read(data, source: url.path)
        let stateName = record.stateFile
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(stateName))
        func load(_ prefix: String, into buffer: UnsafeMutablePointer<Float>) throws {
            for tensor in layout.tensors {
                let name = "\(prefix).\(tensor.name)"
                guard file.tensors[name]?.shape == tensor.shape else {
                    throw TrainingError("\(stateName) lacks \(name) \(tensor.shape); the checkpoint does not match the model")
                }
                try file.read(name, into: buffer + tensor.offset)
            }
        }
        try load("parameters", into: parameters.pointer)
        let owned = optimizer.owned
        guard let shards = record.optimizerShards else {
            for (name, buffer) in optimizer.buffers {
                if owned == 0..<layout.count {
                    try load(name, into: buffer.pointer)
                } else {
                    let whole = FloatBuffer(count: layout.count)
                    try load(name, into: whole.pointer)
                    buffer.pointer.update(from: whole.pointer + owned.lowerBound, count: owned.count)
                }
            }
            return
        }
        var covered = 0
        for shardName in shards {
            let shard = try SafetensorsFile(contentsOf: directory.appendingPathComponent(shardName))
            guard shard.metadata["parameters"] == String(layout.count), let offset = shard.metadata["offset"].flatMap(Int.init),
                offset >= 0
            else {
                throw TrainingError("\(shardName) is not an optimizer shard of this model; the checkpoint cannot be resumed")
            }
            for (name, buffer) in optimizer.buffers {
                guard let count = shard.tensors[name]?.shape.first, shard.tensors[name]?.shape.count == 1, offset + count <= layout.count
                else { throw TrainingError("\(shardName) lacks the optimizer's \(name); the checkpoint does not match the run") }
                let overlap = (offset..<(offset + count)).clamped(to: owned)
                if name == optimizer.buffers.keys.min() { covered += overlap.count }
                guard !overlap.isEmpty else { continue }
                let values = try shard.floats(name)
                values.withUnsafeBufferPointer {
                    (buffer.pointer + (overlap.lowerBound - owned.lowerBound)).update(
                        from: $0.baseAddress! + (overlap.lowerBound - offset), count: overlap.count)
                }
            }
        }
        guard covered == owned.count || optimizer.buffers.isEmpty else {
            throw TrainingError("the optimizer shards named in \(url.path) do not cover the parameters; the checkpoint cannot be resumed")
        }
    }
}

extension TrainingCheckpoint {
    /// `training.json` (format 1; files written before the typed configuration read the same).
    struct File: Codable {
        var formatVersion: Int
        var nextIteration: Int
        var optimizerStep: Int
        /// nil while no evaluation has run.
        var bestValidationLoss: Float?
        var stateFile: String
        /// The optimizer's shards, rank by rank (sharded runs only).
        var optimizerShards: [String]?
        var configuration: TrainingConfiguration
        var run: RunDescription

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version", nextIteration = "next_iteration", optimizerStep = "optimizer_step"
            case bestValidationLoss = "best_val_loss", stateFile = "state_file", optimizerShards = "optimizer_shards"
            case configuration, run
        }

        static func read(_ data: Data, source: String) throws -> File {
            guard let file = try? JSONDecoder().decode(File.self, from: data), file.formatVersion == 1,
                !file.stateFile.contains("/"), !(file.optimizerShards ?? []).contains(where: { $0.contains("/") || !isStateFile($0) })
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
            do {
                try file.configuration.validate()
            } catch let error as InvalidValue {
                throw TrainingError("\(source) is corrupt: its configuration's \(error.describe(field: error.field)); the checkpoint cannot be resumed")
            }
            return file
        }
    }
}
