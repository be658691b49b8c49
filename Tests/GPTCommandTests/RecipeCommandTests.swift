import Foundation
import GPTTestSupport
import Testing

/// Exact resume after kill -9, fine-tuning and distillation from the command line.
@Suite(.serialized) struct RecipeCommandTests {
    let directory = temporaryDirectory("gpt-recipe")
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }
    let small = ["--layers", "2", "--heads", "2", "--embedding-size", "32", "--context-length", "16", "--batch-size", "4",
                 "--max-iters", "120", "--eval-interval", "40", "--eval-iters", "2", "--checkpoint-interval", "3",
                 "--dropout", "0.1", "--seed", "5"]

    @Test func killedAtRandomMomentsAndResumedEndsWithTheSameWeights() throws {
        let straight = directory.appendingPathComponent("straight").path
        let result = try GPT.run(["train", "--out", straight] + small)
        #expect(result.status == 0, "\(result.standardError)")
        let crashy = directory.appendingPathComponent("crashy").path
        var state: UInt64 = 2024
        func delay() -> UInt32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt32(20_000 + (state >> 33) % 200_000)  // 20–220 ms
        }
        var kills = 0
        var arguments = ["train", "--out", crashy] + small
        for _ in 0..<4 {
            let running = try GPT.start(arguments)
            // Wait for a first checkpoint, then kill at a random moment.
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: crashy + "/training.json") && Date() < deadline && running.process.isRunning {
                usleep(2_000)
            }
            usleep(delay())
            if running.process.isRunning {
                kill(running.process.processIdentifier, SIGKILL)
                kills += 1
            }
            _ = running.finish()
            arguments = ["train", "--resume", crashy]
        }
        #expect(kills >= 2)
        let finish = try GPT.run(["train", "--resume", crashy])
        #expect(finish.status == 0, "\(finish.standardError)")
        let a = try Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: crashy + "/model.safetensors"))
        #expect(a == b, "final weights differ after \(kills) kills")
    }

    @Test func resumeRejectsBadStateAndOtherSettings() throws {
        let run = directory.appendingPathComponent("run").path
        #expect(try GPT.run(["train", "--out", run, "--max-iters", "6", "--eval-iters", "1"] + small.prefix(10)).status == 0)
        expectCleanFailure(try GPT.run(["train", "--resume", run, "--learning-rate", "0.1"]), mentioning: "--learning-rate")
        expectCleanFailure(try GPT.run(["train", "--resume", run, "--max-iters", "3"]), mentioning: "only be raised")
        expectCleanFailure(try GPT.run(["finetune", "--resume", run]), mentioning: "gpt train --resume")
        let empty = directory.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        expectCleanFailure(try GPT.run(["train", "--resume", empty]), mentioning: "no checkpoint")
        let state = URL(fileURLWithPath: run + "/training.json")
        let saved = try Data(contentsOf: state)
        try Data("{\"format_version\": 1}".utf8).write(to: state)
        expectCleanFailure(try GPT.run(["train", "--resume", run]), mentioning: "corrupt")
        try saved.write(to: state)
        let stateFile = try FileManager.default.contentsOfDirectory(atPath: run).first { $0.hasPrefix("training_state-") }!
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: run + "/" + stateFile))
        expectCleanFailure(try GPT.run(["train", "--resume", run]), mentioning: "truncated")
        // Nothing was overwritten by the failed attempts.
        #expect(try Data(contentsOf: state) == saved)
        expectCleanFailure(try GPT.run(["train", "--out", run + "-x", "--grad-accum", "0"]), mentioning: "--grad-accum")
    }

    @Test func fineTuningKeepsTheTokenizerAndFreezesWhatItIsTold() throws {
        let base = directory.appendingPathComponent("base").path
        #expect(try GPT.run(["train", "--data", shakespeare, "--out", base] + small.prefix(10) + ["--max-iters", "5", "--eval-iters", "1"]).status == 0)
        let book = sharedDataDirectory.appendingPathComponent("corpus/gutenberg/pg1342_pride_and_prejudice.txt").path
        expectCleanFailure(
            try GPT.run(["finetune", "--from", base, "--data", book, "--out", directory.appendingPathComponent("ft").path]),
            mentioning: "cannot encode")
        let text = directory.appendingPathComponent("more.txt")
        try String(try String(contentsOfFile: shakespeare, encoding: .utf8).suffix(30_000)).write(to: text, atomically: true, encoding: .utf8)
        let tuned = directory.appendingPathComponent("tuned").path
        let result = try GPT.run([
            "finetune", "--from", base, "--data", text.path, "--out", tuned, "--max-iters", "5", "--eval-iters", "1",
            "--freeze-layers", "1", "--freeze-embeddings",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("trained"))
        let before = try Data(contentsOf: URL(fileURLWithPath: base + "/model.safetensors"))
        let after = try Data(contentsOf: URL(fileURLWithPath: tuned + "/model.safetensors"))
        #expect(before != after)
        let resumed = try GPT.run(["finetune", "--resume", tuned, "--max-iters", "8"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
    }

    @Test func distillationBeatsLabelsAloneAndChecksTheTokenizer() throws {
        let teacher = directory.appendingPathComponent("teacher").path
        let train = try GPT.run(["train", "--preset", "shakespeare-char-cpu", "--data", shakespeare, "--out", teacher, "--max-iters", "300"])
        #expect(train.status == 0, "\(train.standardError)")
        let common = ["--preset", "shakespeare-char-cpu", "--data", shakespeare, "--layers", "2", "--max-iters", "200", "--seed", "1"]
        let distilledLog = directory.appendingPathComponent("d.jsonl").path
        let labelsLog = directory.appendingPathComponent("l.jsonl").path
        let distilled = try GPT.run(["distill", "--teacher", teacher, "--out", directory.appendingPathComponent("d").path, "--log", distilledLog] + common)
        #expect(distilled.status == 0, "\(distilled.standardError)")
        let labels = try GPT.run(["train", "--out", directory.appendingPathComponent("l").path, "--log", labelsLog] + common)
        #expect(labels.status == 0, "\(labels.standardError)")
        func finalValidation(_ path: String) throws -> Double {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            let last = lines.last { $0.contains("\"eval\"") }!
            return (try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any])["val_loss"] as! Double
        }
        let (d, l) = (try finalValidation(distilledLog), try finalValidation(labelsLog))
        #expect(d < l, "distilled \(d) vs labels alone \(l)")
        // A teacher with another vocabulary is refused.
        let other = directory.appendingPathComponent("other").path
        #expect(try GPT.run(["train", "--out", other, "--max-iters", "2", "--eval-iters", "1"]).status == 0)
        expectCleanFailure(
            try GPT.run(["distill", "--teacher", other, "--data", shakespeare, "--out", directory.appendingPathComponent("x").path]),
            mentioning: "not in the model's vocabulary")
    }
}
