import Foundation
import GPTFormats

/// One line of the training log (`--log FILE`, JSON lines): a step, a skipped step or an
/// evaluation. Keys: `type`, `iter`, and per type `loss`, `lr`, `tokens_per_second` | `loss`,
/// `grad_norm` | `train_loss`, `val_loss`; a non-finite number is written as null.
public struct TrainingLogEntry: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case step, skipped, eval
    }

    public var kind: Kind
    public var iteration: Int
    public var loss: Double?
    public var learningRate: Double?
    public var tokensPerSecond: Double?
    public var gradientNorm: Double?
    public var trainingLoss: Double?
    public var validationLoss: Double?

    /// The log line of a training event (nil for events the log does not record).
    public init?(_ event: TrainingEvent) {
        func finite(_ value: Float) -> Double? { value.isFinite ? Double(value) : nil }
        switch event {
        case .step(let iteration, let loss, let learningRate, let tokensPerSecond, _):
            (kind, self.iteration) = (.step, iteration)
            (self.loss, self.learningRate) = (finite(loss), finite(learningRate))
            self.tokensPerSecond = tokensPerSecond.isFinite ? tokensPerSecond : nil
        case .skipped(let iteration, let loss, let gradientNorm):
            (kind, self.iteration) = (.skipped, iteration)
            (self.loss, self.gradientNorm) = (finite(loss), finite(gradientNorm))
        case .evaluation(let iteration, let trainingLoss, let validationLoss):
            (kind, self.iteration) = (.eval, iteration)
            (self.trainingLoss, self.validationLoss) = (finite(trainingLoss), finite(validationLoss))
        case .saved, .checkpoint:
            return nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind = "type", iteration = "iter", loss, learningRate = "lr", tokensPerSecond = "tokens_per_second"
        case gradientNorm = "grad_norm", trainingLoss = "train_loss", validationLoss = "val_loss"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(iteration, forKey: .iteration)
        func write(_ value: Double?, _ key: CodingKeys) throws {
            if let value { try container.encode(value, forKey: key) } else { try container.encodeNil(forKey: key) }
        }
        switch kind {
        case .step:
            try write(loss, .loss)
            try write(learningRate, .learningRate)
            try write(tokensPerSecond, .tokensPerSecond)
        case .skipped:
            try write(loss, .loss)
            try write(gradientNorm, .gradientNorm)
        case .eval:
            try write(trainingLoss, .trainingLoss)
            try write(validationLoss, .validationLoss)
        }
    }
}

/// The training log file: written one line per event (each line one `write`, so it survives the
/// process being killed), cut back to a checkpoint on resume, and read for charts.
public final class TrainingLog {
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens `path` for writing: a new file, or (`appending`) the end of an existing one.
    public init(path: String, appending: Bool) throws {
        if !(appending && FileManager.default.fileExists(atPath: path)) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw TrainingError("cannot write the log file \(path); choose a writable path")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError("cannot write the log file \(path); choose a writable path")
        }
        handle.seekToEndOfFile()
        self.handle = handle
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    /// Appends the event's line (events the log does not record are ignored).
    public func record(_ event: TrainingEvent) {
        guard let entry = TrainingLogEntry(event), var data = try? encoder.encode(entry) else { return }
        data.append(0x0A)
        handle.write(data)
    }

    /// The entries of a log, in file order (lines that are not entries are skipped).
    public static func read(path: String) throws -> [TrainingLogEntry] {
        let text = try TextFile.read(path)
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(TrainingLogEntry.self, from: Data($0.utf8)) }
    }

    /// Keeps the lines of steps before `iteration` and of evaluations up to it (what a checkpoint
    /// at `iteration` had seen), rewriting the file atomically.
    public static func truncate(path: String, before iteration: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let decoder = JSONDecoder()
        var kept: [Substring] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let entry = try? decoder.decode(TrainingLogEntry.self, from: Data(line.utf8)) else { continue }
            if entry.iteration < iteration || (entry.kind == .eval && entry.iteration == iteration) { kept.append(line) }
        }
        try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: URL(fileURLWithPath: path))
    }
}
