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
    public var generator: Generator
    public var bestValidationLoss: Float
    public var configuration: [String: Any]
    /// What the caller needs to rebuild the data set (paths, tokenizer choice …).
    public var run: [String: Any]

    public init(
        nextIteration: Int, optimizerStep: Int, generator: Generator, bestValidationLoss: Float,
        configuration: [String: Any], run: [String: Any]
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
    public func write(model: GPTModel, optimizer: Optimizer, to directory: URL) throws {
        let stateName = String(format: "training_state-%08d.safetensors", nextIteration)
        var records: [TensorRecord] = []
        func add(_ prefix: String, _ buffer: FloatBuffer) {
            let pointer = UnsafePointer(buffer.pointer)
            for tensor in model.layout.tensors {
                records.append(TensorRecord(
                    name: "\(prefix).\(tensor.name)", shape: tensor.shape,
                    values: UnsafeBufferPointer(start: pointer + tensor.offset, count: tensor.count)))
            }
        }
        add("parameters", model.parameters)
        for name in optimizer.buffers.keys.sorted() { add(name, optimizer.buffers[name]!) }
        try SafetensorsFile.write(records, metadata: ["format": "swift-gpt-training-state"], to: directory.appendingPathComponent(stateName))
        let object: [String: Any] = [
            "format_version": 1, "next_iteration": nextIteration, "optimizer_step": optimizerStep,
            "rng": generator.state.map { String($0) }, "best_val_loss": bestValidationLoss.isFinite ? Double(bestValidationLoss) : NSNull(),
            "state_file": stateName, "configuration": configuration, "run": run,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: directory.appendingPathComponent(Self.fileName))
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
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            (object["format_version"] as? NSNumber)?.intValue == 1,
            let next = (object["next_iteration"] as? NSNumber)?.intValue,
            let step = (object["optimizer_step"] as? NSNumber)?.intValue,
            let rng = object["rng"] as? [String], rng.count == 4, let words = Optional(rng.compactMap(UInt64.init)), words.count == 4,
            let configuration = object["configuration"] as? [String: Any],
            let run = object["run"] as? [String: Any]
        else {
            throw TrainingError("\(url.path) is corrupt; the checkpoint cannot be resumed")
        }
        let best = (object["best_val_loss"] as? NSNumber)?.floatValue ?? .infinity
        return TrainingCheckpoint(
            nextIteration: next, optimizerStep: step, generator: Generator(state: words), bestValidationLoss: best,
            configuration: configuration, run: run)
    }

    /// Loads the weights and optimizer state this checkpoint names.
    public static func restore(model: GPTModel, optimizer: Optimizer, from directory: URL) throws {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let stateName = object["state_file"] as? String
        else {
            throw TrainingError("\(url.path) is corrupt; the checkpoint cannot be resumed")
        }
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(stateName))
        func load(_ prefix: String, into buffer: FloatBuffer) throws {
            for tensor in model.layout.tensors {
                let name = "\(prefix).\(tensor.name)"
                guard file.tensors[name]?.shape == tensor.shape else {
                    throw TrainingError("\(stateName) lacks \(name) \(tensor.shape); the checkpoint does not match the model")
                }
                try file.read(name, into: buffer.pointer + tensor.offset)
            }
        }
        try load("parameters", into: model.parameters)
        for (name, buffer) in optimizer.buffers { try load(name, into: buffer) }
    }
}
