import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Exact resume after kill -9, fine-tuning and distillation from the command line.
@Suite(.serialized) struct RecipeCommandTests {
    let directory = temporaryDirectory("gpt-recipe")
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }
    let small = ["--layers", "2", "--heads", "2", "--embedding-size", "32", "--context-length", "16", "--batch-size", "4",
                 "--max-iters", "600", "--eval-interval", "40", "--eval-iters", "2", "--checkpoint-interval", "3",
                 "--dropout", "0.1", "--seed", "5"]

    @Test func killedAtRandomMomentsAndResumedEndsWithTheSameWeights() throws {
        let straight = directory.appendingPathComponent("straight").path
        let result = try CLI.run(["train", "--out", straight] + small)
        #expect(result.status == 0, "\(result.standardError)")
        let crashy = directory.appendingPathComponent("crashy").path
        var state: UInt64 = 2024
        func delay() -> UInt32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt32(5_000 + (state >> 33) % 100_000)  // 5–105 ms, well inside a run of 600 steps
        }
        var kills = 0
        var arguments = ["train", "--out", crashy] + small
        for _ in 0..<4 {
            let running = try CLI.start(arguments)
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
        let finish = try CLI.run(["train", "--resume", crashy])
        #expect(finish.status == 0, "\(finish.standardError)")
        let a = try Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: crashy + "/model.safetensors"))
        #expect(a == b, "final weights differ after \(kills) kills")
    }

    @Test func resumeRejectsBadStateAndOtherSettings() throws {
        let run = directory.appendingPathComponent("run").path
        #expect(try CLI.run(["train", "--out", run, "--max-iters", "6", "--eval-iters", "1"] + small.prefix(10)).status == 0)
        expectCleanFailure(try CLI.run(["train", "--resume", run, "--learning-rate", "0.1"]), mentioning: "--learning-rate")
        expectCleanFailure(try CLI.run(["train", "--resume", run, "--max-iters", "3"]), mentioning: "only be raised")
        expectCleanFailure(try CLI.run(["finetune", "--resume", run]), mentioning: "gpt train --resume")
        let empty = directory.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        expectCleanFailure(try CLI.run(["train", "--resume", empty]), mentioning: "no checkpoint")
        let state = URL(fileURLWithPath: run + "/training.json")
        let saved = try Data(contentsOf: state)
        try Data("{\"format_version\": 1}".utf8).write(to: state)
        expectCleanFailure(try CLI.run(["train", "--resume", run]), mentioning: "corrupt")
        try saved.write(to: state)
        let stateFile = try FileManager.default.contentsOfDirectory(atPath: run).first { $0.hasPrefix("training_state-") }!
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: run + "/" + stateFile))
        expectCleanFailure(try CLI.run(["train", "--resume", run]), mentioning: "truncated")
        // Nothing was overwritten by the failed attempts.
        #expect(try Data(contentsOf: state) == saved)
        expectCleanFailure(try CLI.run(["train", "--out", run + "-x", "--grad-accum", "0"]), mentioning: "--grad-accum")
    }

    @Test func fineTuningKeepsTheTokenizerAndFreezesWhatItIsTold() throws {
        let base = directory.appendingPathComponent("base").path
        #expect(try CLI.run(["train", "--data", shakespeare, "--out", base] + small.prefix(10) + ["--max-iters", "5", "--eval-iters", "1"]).status == 0)
        let book = sharedDataDirectory.appendingPathComponent("corpus/gutenberg/pg1342_pride_and_prejudice.txt").path
        expectCleanFailure(
            try CLI.run(["finetune", "--from", base, "--data", book, "--out", directory.appendingPathComponent("ft").path]),
            mentioning: "cannot encode")
        let text = directory.appendingPathComponent("more.txt")
        try String(try String(contentsOfFile: shakespeare, encoding: .utf8).suffix(30_000)).write(to: text, atomically: true, encoding: .utf8)
        let tuned = directory.appendingPathComponent("tuned").path
        let result = try CLI.run([
            "finetune", "--from", base, "--data", text.path, "--out", tuned, "--max-iters", "5", "--eval-iters", "1",
            "--freeze-layers", "1", "--freeze-embeddings",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("trained"))
        // Frozen tensors are bit-identical to the base model; the others moved.
        func expectFrozen(_ directory: String, frozen: (ParameterTensor) -> Bool) throws {
            let before = try ModelDirectory.loadModel(URL(fileURLWithPath: base))
            let after = try ModelDirectory.loadModel(URL(fileURLWithPath: directory))
            for tensor in before.layout.tensors {
                let range = tensor.offset..<(tensor.offset + tensor.count)
                let same = Array(before.parameters.array[range]) == Array(after.parameters.array[range])
                #expect(same == frozen(tensor), "\(directory): \(tensor.name) \(same ? "unchanged" : "changed")")
            }
        }
        try expectFrozen(tuned) { tensor in
            if case .block(let layer) = tensor.group { return layer < 1 }
            return tensor.group == .tokenEmbedding || tensor.group == .positionEmbedding
        }
        let resumed = try CLI.run(["finetune", "--resume", tuned, "--max-iters", "8"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        try expectFrozen(tuned) { tensor in
            if case .block(let layer) = tensor.group { return layer < 1 }
            return tensor.group == .tokenEmbedding || tensor.group == .positionEmbedding
        }
        // --train-head-only: only the final LayerNorm (and the tied unembedding, the token embedding) train.
        let head = directory.appendingPathComponent("head").path
        let headOnly = try CLI.run([
            "finetune", "--from", base, "--data", text.path, "--out", head, "--max-iters", "5", "--eval-iters", "1",
            "--train-head-only",
        ])
        #expect(headOnly.status == 0, "\(headOnly.standardError)")
        try expectFrozen(head) { $0.group != .finalNorm && $0.group != .tokenEmbedding }
        // Freezing more blocks than the model has is a usage error, before anything is written.
        let tooMany = directory.appendingPathComponent("too-many").path
        expectCleanFailure(
            try CLI.run(["finetune", "--from", base, "--data", text.path, "--out", tooMany, "--freeze-layers", "9"]),
            mentioning: "--freeze-layers must be at most the model's 2 blocks (got 9)")
        #expect(!FileManager.default.fileExists(atPath: tooMany))
    }

    @Test func distillationBeatsLabelsAloneAndChecksTheTokenizer() throws {
        let teacher = directory.appendingPathComponent("teacher").path
        let train = try CLI.run(["train", "--preset", "shakespeare-char-cpu", "--data", shakespeare, "--out", teacher, "--max-iters", "300"])
        #expect(train.status == 0, "\(train.standardError)")
        let common = ["--preset", "shakespeare-char-cpu", "--data", shakespeare, "--layers", "2", "--max-iters", "200", "--seed", "1"]
        let distilledLog = directory.appendingPathComponent("d.jsonl").path
        let labelsLog = directory.appendingPathComponent("l.jsonl").path
        let distilled = try CLI.run(["distill", "--teacher", teacher, "--out", directory.appendingPathComponent("d").path, "--log", distilledLog] + common)
        #expect(distilled.status == 0, "\(distilled.standardError)")
        let labels = try CLI.run(["train", "--out", directory.appendingPathComponent("l").path, "--log", labelsLog] + common)
        #expect(labels.status == 0, "\(labels.standardError)")
        func finalValidation(_ path: String) throws -> Double {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            let last = lines.last { $0.contains("\"eval\"") }!
            return (try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any])["val_loss"] as! Double
        }
        let (d, l) = (try finalValidation(distilledLog), try finalValidation(labelsLog))
        #expect(d < l, "distilled \(d) vs labels alone \(l)")
        // Text the teacher's tokenizer cannot encode is refused.
        let other = directory.appendingPathComponent("other").path
        #expect(try CLI.run(["train", "--out", other, "--max-iters", "2", "--eval-iters", "1"]).status == 0)
        expectCleanFailure(
            try CLI.run(["distill", "--teacher", other, "--data", shakespeare, "--out", directory.appendingPathComponent("x").path]),
            mentioning: "not in the model's vocabulary")
        // Every unknown character is listed, most frequent first, with its count.
        let unknown = try CLI.run(["distill", "--teacher", other, "--data", shakespeare, "--out", directory.appendingPathComponent("x").path])
        #expect(unknown.standardError.contains("characters are not in the model's vocabulary of 41 characters: "), "\(unknown.standardError)")
        #expect(unknown.standardError.contains("'A' (U+0041) ×"), "\(unknown.standardError)")
        // Distillation and fine-tuning keep the teacher's or model's tokenizer: they offer no --tokenizer.
        for command in ["distill", "finetune"] {
            let help = try CLI.run([command, "--help"])
            #expect(!help.standardOutput.contains("--tokenizer") && !help.standardOutput.contains("--vocab-size"), "\(command) --help")
        }
        // `train --help` shows the defaults (words joined across ArgumentParser's line wrapping).
        let trainHelp = try CLI.run(["train", "--help"]).standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for fragment in ["Sequences per step (default 12)", "Optimisation steps (default 1000)", "Peak learning rate (default 0.001)"] {
            #expect(trainHelp.contains(fragment), "train --help lacks \(fragment)")
        }
        // A teacher replaced by a model with another vocabulary is refused when the run resumes.
        let swapped = directory.appendingPathComponent("swapped").path
        try FileManager.default.copyItem(atPath: teacher, toPath: swapped)
        let run = directory.appendingPathComponent("r").path
        let started = try CLI.run([
            "distill", "--teacher", swapped, "--out", run, "--data", shakespeare, "--layers", "1", "--max-iters", "2",
            "--eval-iters", "1",
        ])
        #expect(started.status == 0, "\(started.standardError)")
        try FileManager.default.removeItem(atPath: swapped)
        try FileManager.default.copyItem(atPath: other, toPath: swapped)
        expectCleanFailure(try CLI.run(["distill", "--resume", run, "--max-iters", "4"]), mentioning: "differs from the student's")
    }
}

/// `--precision bf16` from the command line: recorded in the checkpoint, resumed bit for bit.
@Suite(.serialized) struct PrecisionCommandTests {
    let directory = temporaryDirectory("gpt-precision")
    let small = ["--layers", "2", "--heads", "2", "--embedding-size", "32", "--context-length", "16", "--batch-size", "4",
                 "--eval-interval", "10", "--eval-iters", "2", "--lr-decay-iters", "20", "--seed", "5", "--precision", "bf16"]

    @Test func aBF16RunIsRecordedAndResumesExactly() throws {
        let straight = directory.appendingPathComponent("straight").path
        let result = try CLI.run(["train", "--out", straight, "--max-iters", "20"] + small)
        #expect(result.status == 0, "\(result.standardError)")
        let split = directory.appendingPathComponent("split").path
        #expect(try CLI.run(["train", "--out", split, "--max-iters", "10"] + small).status == 0)
        let recorded = try String(contentsOfFile: split + "/training.json", encoding: .utf8)
        #expect(recorded.contains("\"precision\" : \"bf16\""))
        let resumed = try CLI.run(["train", "--resume", split, "--max-iters", "20"])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        if Precision.isBFloat16Available(at: .best) {
            #expect(result.standardError.contains("precision: bf16 products"))
        } else {
            #expect(result.standardError.contains("AVX512-BF16") && resumed.standardError.contains("AVX512-BF16"))
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: straight + "/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: split + "/model.safetensors"))
        #expect(a == b, "a bf16 run resumed after step 10 ends with other weights than one run straight")
    }
}
