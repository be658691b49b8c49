import Foundation
import GPTTestSupport
import GPTTraining
import Testing

/// The `--log` file: one numbering (steps done), logs from before it read the same way, and the
/// cut back to a checkpoint on resume.
@Suite struct TrainingLogTests {
    @Test func linesCarryTheStepsDone() throws {
        let path = temporaryDirectory().appendingPathComponent("log.jsonl").path
        let log = try TrainingLog(path: path, appending: false)
        log.record(.evaluation(step: 0, trainingLoss: 4, validationLoss: 4.1))
        log.record(.step(step: 1, loss: 3.9, learningRate: 1e-3, tokensPerSecond: 1000, elapsed: 0.1))
        log.record(.skipped(step: 2, loss: .nan, gradientNorm: .infinity))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(lines.map { $0["step"] as? Int } == [0, 1, 2])
        #expect(lines.allSatisfy { $0["iter"] == nil })
        #expect(lines[2]["loss"] is NSNull && lines[2]["grad_norm"] is NSNull)
        #expect(try TrainingLog.read(path: path).map(\.step) == [0, 1, 2])
    }

    /// Logs written before `step`: a step's line carried its 0-based index, an evaluation the steps done.
    @Test func logsFromBeforeTheChangeReadWithTheSameNumbering() throws {
        let path = temporaryDirectory().appendingPathComponent("old.jsonl").path
        try """
        {"iter":0,"train_loss":4.2,"type":"eval","val_loss":4.3}
        {"iter":0,"loss":4.1,"lr":0.001,"tokens_per_second":100,"type":"step"}
        {"iter":1,"loss":4.0,"lr":0.001,"tokens_per_second":100,"type":"step"}
        {"grad_norm":null,"iter":2,"loss":null,"type":"skipped"}
        {"iter":3,"train_loss":3.2,"type":"eval","val_loss":3.3}
        not json

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let entries = try TrainingLog.read(path: path)
        #expect(entries.map(\.kind) == [.eval, .step, .step, .skipped, .eval])
        #expect(entries.map(\.step) == [0, 1, 2, 3, 3])
        #expect(entries[4].validationLoss == 3.3)
    }

    /// Resuming after step 2 keeps what the checkpoint had seen: steps 1–2 and evaluations up to
    /// step 2, from old and new lines alike.
    @Test func truncationKeepsWhatTheCheckpointSaw() throws {
        let path = temporaryDirectory().appendingPathComponent("mixed.jsonl").path
        try """
        {"iter":0,"train_loss":4.2,"type":"eval","val_loss":4.3}
        {"iter":0,"loss":4.1,"lr":0.001,"tokens_per_second":100,"type":"step"}
        {"loss":4.0,"lr":0.001,"step":2,"tokens_per_second":100,"type":"step"}
        {"step":2,"train_loss":3.9,"type":"eval","val_loss":4.0}
        {"loss":3.9,"lr":0.001,"step":3,"tokens_per_second":100,"type":"step"}
        {"step":4,"train_loss":3.2,"type":"eval","val_loss":3.3}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        try TrainingLog.truncate(path: path, after: 2)
        let entries = try TrainingLog.read(path: path)
        #expect(entries.map(\.step) == [0, 1, 2, 2])
        #expect(entries.map(\.kind) == [.eval, .step, .step, .eval])
    }
}
