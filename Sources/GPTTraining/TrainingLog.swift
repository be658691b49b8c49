import Foundation
import GPTFormats

/// One line of the training log (`--log FILE`, JSON lines): a step, a skipped step or an
/// evaluation. Keys: `type`, `step` (the steps done, as the console counts them), and per type
/// `loss`, `lr`, `tokens_per_second` | `loss`, `grad_norm` | `train_loss`, `val_loss`; a
/// non-finite number is written as null. Logs written before `step` existed carry `iter`, which
/// counted a step's lines from 0; they are read with the same numbering.
public struct TrainingLogEntry: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case step, skipped, eval
    }

    public var kind: Kind
    /// Steps done when the event happened: the first step's line says 1, an evaluation before it 0.
    public var step: Int
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
        case .step(let step, let loss, let learningRate, let tokensPerSecond, _):
            (kind, self.step) = (.step, step)
            (self.loss, self.learningRate) = (finite(loss), finite(learningRate))
            self.tokensPerSecond = tokensPerSecond.isFinite ? tokensPerSecond : nil
        case .skipped(let step, let loss, let gradientNorm):
            (kind, self.step) = (.skipped, step)
            (self.loss, self.gradientNorm) = (finite(loss), finite(gradientNorm))
        case .evaluation(let step, let trainingLoss, let validationLoss):
            (kind, self.step) = (.eval, step)
            (self.trainingLoss, self.validationLoss) = (finite(trainingLoss), finite(validationLoss))
        case .saved, .checkpoint:
            return nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind = "type", step, legacyIteration = "iter", loss, learningRate = "lr", tokensPerSecond = "tokens_per_second"
        case gradientNorm = "grad_norm", trainingLoss = "train_loss", validationLoss = "val_loss"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        if let step = try container.decodeIfPresent(Int.self, forKey: .step) {
            self.step = step
        } else {
            // Before `step`: a step's line carried its 0-based index, an evaluation the steps done.
            let iteration = try container.decode(Int.self, forKey: .legacyIteration)
            step = kind == .eval ? iteration : iteration + 1
        }
        loss = try container.decodeIfPresent(Double.self, forKey: .loss)
        learningRate = try container.decodeIfPresent(Double.self, forKey: .learningRate)
        tokensPerSecond = try container.decodeIfPresent(Double.self, forKey: .tokensPerSecond)
        gradientNorm = try container.decodeIfPresent(Double.self, forKey: .gradientNorm)
        trainingLoss = try container.decodeIfPresent(Double.self, forKey: .trainingLoss)
        validationLoss = try container.decodeIfPresent(Double.self, forKey: .validationLoss)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(step, forKey: .step)
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

    /// Keeps the lines up to `step` steps (what a checkpoint written after `step` steps had
    /// seen), rewriting the file atomically.
    public static func truncate(path: String, after step: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let decoder = JSONDecoder()
        var kept: [Substring] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let entry = try? decoder.decode(TrainingLogEntry.self, from: Data(line.utf8)) else { continue }
            if entry.step <= step { kept.append(line) }
        }
        try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: URL(fileURLWithPath: path))
    }
}
