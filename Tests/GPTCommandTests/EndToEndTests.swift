import Foundation
import GPTTestSupport
import Testing

/// `gpt train`, `sample`, `eval` and `info` on real data, as a user runs them.
@Suite(.serialized) struct EndToEndTests {
    let directory = temporaryDirectory("gpt-end-to-end")
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }

    func logLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test func tinyShakespeareTrainsSamplesAndEvaluates() throws {
        let model = directory.appendingPathComponent("shakespeare").path
        let logPath = directory.appendingPathComponent("train.jsonl").path
        let train = try CLI.run([
            "train", "--preset", "shakespeare-char-cpu", "--data", shakespeare, "--out", model, "--max-iters", "250",
            "--eval-interval", "125", "--log", logPath,
        ])
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardOutput.contains("saved to \(model)"))

        // The log: a line per step, numbered as the console counts (1…250), and evaluations at
        // steps 0, 125 and the end.
        let lines = try logLines(logPath)
        let steps = lines.filter { $0["type"] as? String == "step" }
        let evaluations = lines.filter { $0["type"] as? String == "eval" }
        #expect(steps.count == 250)
        #expect(steps.allSatisfy { $0["loss"] != nil && $0["lr"] != nil && $0["tokens_per_second"] != nil })
        #expect(steps.map { $0["step"] as? Int } == Array(1...250))
        #expect(evaluations.map { $0["step"] as? Int } == [0, 125, 250])
        #expect(train.standardError.contains("step 250/250") && train.standardError.contains("eval at step 125:"))
        #expect(train.standardOutput.contains("after 250 steps"))
        let finalValidation = try #require(evaluations.last?["val_loss"] as? Double)
        #expect(finalValidation < 2.7, "validation loss \(finalValidation) is not well below ln(65) = 4.17")
        #expect((evaluations.first?["val_loss"] as? Double ?? 0) > 3.9)

        // Sampling writes the prompt, then text.
        let sample = try CLI.run(["sample", "--model", model, "--prompt", "ROMEO:", "--max-tokens", "100", "--seed", "7"])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(sample.standardOutput.hasPrefix("ROMEO:"))
        #expect(sample.standardOutput.count >= 100)
        let again = try CLI.run(["sample", "--model", model, "--prompt", "ROMEO:", "--max-tokens", "100", "--seed", "7"])
        #expect(again.standardOutput == sample.standardOutput)

        // Reloading gives the same evaluation, and the numbers hang together.
        let text = directory.appendingPathComponent("val.txt")
        let full = try String(contentsOfFile: shakespeare, encoding: .utf8)
        try String(full.suffix(20_000)).write(to: text, atomically: true, encoding: .utf8)
        let first = try CLI.run(["eval", "--model", model, "--data", text.path, "--json"])
        let second = try CLI.run(["eval", "--model", model, "--data", text.path, "--json"])
        #expect(first.status == 0, "\(first.standardError)")
        let a = try JSONSerialization.jsonObject(with: Data(first.standardOutput.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(second.standardOutput.utf8)) as! [String: Any]
        #expect(a["loss"] as? Double == b["loss"] as? Double)
        let loss = try #require(a["loss"] as? Double)
        #expect(abs(loss - finalValidation) < 0.25)
        #expect(abs((a["perplexity"] as! Double) - exp(loss)) < 1e-6 * exp(loss))
        #expect(a["tokens"] as? Int == 19_999)  // one character per token; every target once
        #expect(abs((a["bits_per_byte"] as! Double) - loss / log(2)) < 1e-3)
        #expect(Set(a.keys) == ["loss", "perplexity", "bits_per_byte", "tokens", "tokens_per_second"])

        let info = try CLI.run(["info", "--model", model])
        #expect(info.standardOutput.contains("layers:         4"))
        #expect(info.standardOutput.contains("character (65 symbols)"))
    }

    @Test func embeddedCorpusSamplesAreSeparated() throws {
        let model = directory.appendingPathComponent("default").path
        let train = try CLI.run(["train", "--out", model, "--max-iters", "20", "--eval-iters", "2", "--keep-best"])
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardError.contains("embedded default corpus"))
        #expect(FileManager.default.fileExists(atPath: model + "/best/model.safetensors"))
        let sample = try CLI.run(["sample", "--model", model, "--max-tokens", "20", "--num-samples", "3"])
        #expect(sample.status == 0)
        #expect(sample.standardOutput.components(separatedBy: "\n---\n").count == 3)
        let fromStdin = try CLI.run(["sample", "--model", model, "--prompt-file", "-", "--max-tokens", "5"], input: "the cat")
        #expect(fromStdin.standardOutput.hasPrefix("the cat"))
        let long = String(repeating: "the little fox. ", count: 10)
        let cropped = try CLI.run(["sample", "--model", model, "--prompt", long, "--max-tokens", "5"])
        #expect(cropped.status == 0)
        #expect(cropped.standardError.contains("keeping the last 64"))
    }

    @Test func settingsResolveDefaultsPresetConfigThenFlags() throws {
        let model = directory.appendingPathComponent("precedence").path
        let config = directory.appendingPathComponent("settings.json")
        try Data(#"{"layers": 2, "embedding-size": 64, "heads": 2, "position": "sinusoidal"}"#.utf8).write(to: config)
        let train = try CLI.run([
            "train", "--preset", "shakespeare-char-cpu", "--config", config.path, "--heads", "4", "--max-iters", "3",
            "--eval-iters", "1", "--out", model,
        ])
        #expect(train.status == 0, "\(train.standardError)")
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as! [String: Any]
        #expect(saved["n_layer"] as? Int == 2)  // config file over preset
        #expect(saved["n_embd"] as? Int == 64)
        #expect(saved["n_head"] as? Int == 4)  // flag over config file
        #expect(saved["n_positions"] as? Int == 64)  // preset over defaults
        #expect(saved["use_bias"] as? Bool == false)  // preset
        #expect(saved["model_type"] as? String == "swift-gpt")  // sinusoidal positions are not GPT-2
    }

    @Test func sameSeedSameLosses() throws {
        func losses(_ name: String) throws -> [Double] {
            let log = directory.appendingPathComponent("\(name).jsonl").path
            let result = try CLI.run([
                "train", "--out", directory.appendingPathComponent(name).path, "--max-iters", "15", "--eval-iters", "2",
                "--dropout", "0.1", "--seed", "11", "--log", log,
            ])
            #expect(result.status == 0, "\(result.standardError)")
            return try logLines(log).compactMap { $0["loss"] as? Double }
        }
        let first = try losses("run-a")
        #expect(first.count == 15)
        #expect(first == (try losses("run-b")))
    }

    @Test func interruptSavesAndExplains() throws {
        let model = directory.appendingPathComponent("interrupted").path
        let running = try CLI.start(["train", "--out", model, "--max-iters", "100000", "--eval-interval", "50", "--eval-iters", "1"])
        let deadline = Date().addingTimeInterval(120)
        while !running.standardErrorSoFar.contains("step 20/") && Date() < deadline { usleep(50_000) }
        kill(running.process.processIdentifier, SIGINT)
        let result = running.finish()
        #expect(result.status == 130, "status \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("interrupted at step"))
        #expect(result.standardOutput.contains("stopped after "))
        #expect(FileManager.default.fileExists(atPath: model + "/model.safetensors"))
        let info = try CLI.run(["info", "--model", model])
        #expect(info.status == 0)
    }
}
