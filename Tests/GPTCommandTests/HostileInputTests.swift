import Foundation
import GPTTestSupport
import Testing

/// Issue 11: every reproduction of the hostile-input report as a test, with several values each:
/// a one-line `error:` naming the problem, the exit status (64 usage, 1 runtime), never a signal,
/// and files that existed byte-identical afterwards.
@Suite(.serialized) struct HostileInputTests {
    let directory = temporaryDirectory("gpt-hostile")
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }
    let tiny = ["--layers", "1", "--heads", "1", "--embedding-size", "16", "--context-length", "16", "--max-iters", "20",
                "--eval-interval", "10", "--eval-iters", "2", "--batch-size", "4", "--threads", "1"]

    /// The first 100 kB of Tiny Shakespeare, and a tiny model trained on it (made once per test).
    func text() throws -> String {
        let path = directory.appendingPathComponent("s100k.txt")
        if !FileManager.default.fileExists(atPath: path.path) {
            try Data(try Data(contentsOf: URL(fileURLWithPath: shakespeare)).prefix(100_000)).write(to: path)
        }
        return path.path
    }

    func model(_ name: String = "tiny") throws -> String {
        let path = directory.appendingPathComponent(name).path
        if !FileManager.default.fileExists(atPath: path + "/model.safetensors") {
            let result = try CLI.run(["train", "--data", try text(), "--out", path] + tiny)
            #expect(result.status == 0, "\(result.standardError)")
        }
        return path
    }

    /// Every file under `path` with its bytes (to show a failed command left them alone).
    func snapshot(_ path: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.subpathsOfDirectory(atPath: path) {
            var isDirectory: ObjCBool = false
            let full = path + "/" + name
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return files
    }

    func copy(_ source: String, to name: String) throws -> String {
        let target = directory.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }

    func editJSON(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Crashes

    /// Items 1 and 5: word2vec's rate, and vector files whose header promises more than they hold.
    @Test func word2vecRatesAndVectorFiles() throws {
        let corpus = try text()
        for alpha in ["2", "1.5", "inf", "nan", "-1", "0"] {
            expectCleanFailure(
                try CLI.run(["word2vec", "train", "--data", corpus, "--alpha", alpha, "--out", directory.appendingPathComponent("v.txt").path]),
                mentioning: "--alpha", status: 64)
        }
        let vectors = directory.appendingPathComponent("good.txt").path
        let trained = try CLI.run(["word2vec", "train", "--data", corpus, "--epochs", "1", "--min-count", "2", "--threads", "1", "--out", vectors])
        #expect(trained.status == 0, "\(trained.standardError)")
        // An existing file is not replaced without --overwrite (a model's weights least of all).
        let weights = try model() + "/model.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: weights))
        expectCleanFailure(
            try CLI.run(["word2vec", "train", "--data", corpus, "--epochs", "1", "--out", weights]), mentioning: "--overwrite", status: 64)
        #expect(try Data(contentsOf: URL(fileURLWithPath: weights)) == before)
        for top in ["0", "-3"] {
            expectCleanFailure(try CLI.run(["word2vec", "similar", "--vectors", vectors, "the", "--top", top]), mentioning: "--top", status: 64)
        }
        let lines = try String(contentsOfFile: vectors, encoding: .utf8).split(separator: "\n")
        let body = lines.dropFirst().prefix(3).joined(separator: "\n") + "\n"
        for header in ["9223372036854775807 100", "3 9223372036854775807", "4611686018427387905 4", "100000000 100"] {
            let path = directory.appendingPathComponent("huge.txt").path
            try (header + "\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
            for command in [["word2vec", "similar", "--vectors", path, "the"], ["viz", "words", "--vectors", path, "--words", "the,and", "--out", directory.appendingPathComponent("w.svg").path]] {
                expectCleanFailure(try CLI.run(command), mentioning: "promises", status: 1)
            }
        }
        for value in ["nan", "inf", "-inf"] {
            let path = directory.appendingPathComponent("nan.txt").path
            let fields = lines[1].split(separator: " ")
            let bad = ([fields[0], Substring(value)] + fields.dropFirst(2)).joined(separator: " ")
            try ([lines[0], Substring(bad)] + lines.dropFirst(2).prefix(2)).joined(separator: "\n").appending("\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let header = "3 \(fields.count - 1)"
            try ([Substring(header), Substring(bad)] + lines.dropFirst(2).prefix(2)).joined(separator: "\n").appending("\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            expectCleanFailure(try CLI.run(["word2vec", "similar", "--vectors", path, String(fields[0])]), mentioning: "not a finite number", status: 1)
        }
    }

    /// Item 3 and 13: safetensors headers that overflow, overlap, leave holes or trailing bytes, or misalign.
    @Test func corruptSafetensorsHeaders() throws {
        let good = try model()
        func variant(_ name: String, _ change: (inout [String: Any], inout Data) -> Void) throws -> String {
            let path = try copy(good, to: name)
            let url = URL(fileURLWithPath: path + "/model.safetensors")
            let data = try Data(contentsOf: url)
            let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
            var body = data.subdata(in: (8 + length)..<data.count)
            change(&header, &body)
            var headerBytes = try JSONSerialization.data(withJSONObject: header)
            while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
            var file = Data()
            withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
            try (file + headerBytes + body).write(to: url)
            return path
        }
        func entry(_ header: [String: Any], _ name: String) -> [String: Any] { header[name] as! [String: Any] }
        let cases: [(String, String, (inout [String: Any], inout Data) -> Void)] = [
            ("overflow", "more elements", { h, _ in var e = entry(h, "wte.weight"); e["shape"] = [1 << 62, 1 << 62]; h["wte.weight"] = e }),
            ("overflow3", "more elements", { h, _ in var e = entry(h, "wte.weight"); e["shape"] = [1 << 40, 1 << 40, 16]; h["wte.weight"] = e }),
            ("negative", "non-negative integers", { h, _ in var e = entry(h, "wte.weight"); e["shape"] = [-61, -16]; h["wte.weight"] = e }),
            ("fraction", "non-negative integers", { h, _ in var e = entry(h, "wte.weight"); e["shape"] = [61.5, 16]; h["wte.weight"] = e }),
            ("overlap", "overlap", { h, _ in
                let first = entry(h, "ln_f.weight")["data_offsets"] as! [Int]
                var e = entry(h, "ln_f.bias"); e["data_offsets"] = first; h["ln_f.bias"] = e
            }),
            ("trailing", "after its last tensor", { _, body in body.append(contentsOf: [0, 0, 0, 0]) }),
            ("misaligned", "not a multiple", { h, body in
                // Every tensor moved by two bytes: the data still tiles, but F32 values start mid-word.
                for (key, value) in h where key != "__metadata__" {
                    var e = value as! [String: Any]
                    e["data_offsets"] = (e["data_offsets"] as! [Int]).map { $0 + 2 }
                    h[key] = e
                }
                body.insert(contentsOf: [0, 0], at: 0)
            }),
        ]
        for (name, fragment, change) in cases {
            let path = try variant(name, change)
            let before = try snapshot(path)
            for command in [["info", "--model", path], ["eval", "--model", path, "--data", try text()], ["sample", "--model", path, "--max-tokens", "2"]] {
                expectCleanFailure(try CLI.run(command), mentioning: fragment, status: 1)
            }
            #expect(try snapshot(path) == before, "\(name): files changed")
        }
        // config.json sizes that are not whole numbers, or absurd.
        for (value, fragment) in [(1.5, "must be an integer"), (1e30, "must be an integer"), (Double(1 << 40), "n_embd")] {
            let path = try copy(good, to: "config-\(value)")
            try editJSON(path + "/config.json") { $0[value == Double(1 << 40) ? "n_embd" : "n_layer"] = value }
            expectCleanFailure(try CLI.run(["info", "--model", path]), mentioning: fragment, status: 1)
        }
        let positions = try copy(good, to: "positions")
        try editJSON(positions + "/config.json") { $0["n_positions"] = 1_000_000_000 }
        expectCleanFailure(try CLI.run(["sample", "--model", positions, "--max-tokens", "2"]), mentioning: "n_positions", status: 1)
    }

    /// Item 4: sizes checked before anything is allocated or written.
    @Test func absurdSizesAreRefusedBeforeAllocating() throws {
        let out = directory.appendingPathComponent("never").path
        let cases: [([String], String, Int32)] = [
            (["--embedding-size", "1000000000", "--heads", "1"], "--embedding-size", 64),
            (["--layers", "1000000000"], "--layers", 64),
            (["--batch-size", "100000000"], "needs", 64),
            (["--batch-size", "1000000000"], "needs", 64),
            (["--context-length", "1000000000"], "--context-length", 1),  // longer than the text: the data's fault
        ]
        for (flags, fragment, status) in cases {
            expectCleanFailure(try CLI.run(["train", "--out", out] + flags), mentioning: fragment, status: status)
            #expect(!FileManager.default.fileExists(atPath: out), "\(flags) created \(out)")
        }
        for (json, fragment) in [("{\"layers\": 1e30}", "layers"), ("{\"max-iters\": 99999999999999999999}", "max-iters"),
                                 ("{\"embedding-size\": 1099511627776, \"heads\": 1}", "embedding-size")] {
            let config = directory.appendingPathComponent("config.json")
            try json.write(to: config, atomically: true, encoding: .utf8)
            let result = try CLI.run(["train", "--config", config.path, "--out", out])
            expectCleanFailure(result, mentioning: fragment)
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    /// Item 2 and 12: corrupt or altered token caches are reported and rebuilt; a corrupt token file is an error.
    @Test func corruptTokenCachesAreRebuilt() throws {
        let cache = directory.appendingPathComponent("cache").path
        let corpus = try text()
        func train(_ name: String) throws -> CommandResult {
            try CLI.run(["train", "--data", corpus, "--out", directory.appendingPathComponent(name).path, "--overwrite"] + tiny,
                        environment: ["XDG_CACHE_HOME": cache])
        }
        #expect(try train("c0").status == 0)
        let tokens = try FileManager.default.subpathsOfDirectory(atPath: cache).first { $0.hasSuffix(".tokens") }!
        let file = URL(fileURLWithPath: cache + "/" + tokens)
        let original = try Data(contentsOf: file)
        func edit(_ offset: Int, _ value: UInt64) throws {
            var data = original
            withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<(offset + 8), with: $0) }
            try data.write(to: file)
        }
        let cases: [(Int, UInt64, String)] = [
            (16, (1 << 63) + 1, "truncated or corrupt"), (16, (1 << 62) + 1, "truncated or corrupt"), (16, 5, "truncated or corrupt"),
            (24, 0, "vocabulary size"), (128, 0x0001_0002_0003_0004, "checksum"),
        ]
        for (offset, value, fragment) in cases {
            try edit(offset, value)
            let result = try train("c-\(offset)-\(value)")
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardError.contains("rebuilt the token cache") && result.standardError.contains(fragment), "\(result.standardError)")
            #expect(try Data(contentsOf: file) == original)  // rebuilt, identical
        }
        // Version-1 caches (no checksum) are rebuilt too.
        var version1 = original
        version1[8] = 1
        try version1.write(to: file)
        #expect(try train("c-v1").standardError.contains("version-1"))
        // A token file given to --data with an absurd count is an error, not a trap.
        var huge = original
        withUnsafeBytes(of: ((UInt64(1) << 63) + 1).littleEndian) { huge.replaceSubrange(16..<24, with: $0) }
        let path = directory.appendingPathComponent("huge.tokens")
        try huge.write(to: path)
        expectCleanFailure(try CLI.run(["train", "--data", path.path, "--out", directory.appendingPathComponent("t").path] + tiny),
                           mentioning: "truncated or corrupt", status: 1)
    }

    // MARK: - Runaway runs

    /// Items 6 and 7: caps on accumulation and threads; Ctrl-C inside a long step; resume threads.
    @Test func runawayRunsAreBoundedAndInterruptible() throws {
        let corpus = try text()
        for value in ["1000000000", "65537", "0"] {
            expectCleanFailure(try CLI.run(["train", "--data", corpus, "--out", directory.appendingPathComponent("g").path, "--grad-accum", value] + tiny),
                               mentioning: "--grad-accum", status: 64)
        }
        let capped = directory.appendingPathComponent("capped").path
        let threads = try CLI.run(["train", "--data", corpus, "--out", capped] + tiny + ["--threads", "100000"], timeout: 120)
        #expect(threads.status == 0 && threads.standardError.contains("is capped at"), "\(threads.standardError)")
        // The run recorded its threads (capped); a resume without --threads uses them, one with another count says so.
        let resumed = try CLI.run(["train", "--resume", capped, "--max-iters", "25", "--threads", "1"])
        #expect(resumed.status == 0 && resumed.standardError.contains("no longer be bit-identical"), "\(resumed.standardError)")

        // A step of 65,536 micro-batches stops within seconds of Ctrl-C, saved and resumable.
        let long = directory.appendingPathComponent("long").path
        let running = try CLI.start(["train", "--data", corpus, "--out", long, "--grad-accum", "65536"] + tiny)
        let deadline = Date().addingTimeInterval(60)
        while !running.standardErrorSoFar.contains("eval at step 0") && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        let sent = Date()
        kill(running.process.processIdentifier, SIGINT)
        let result = running.finish()
        #expect(result.status == 130, "\(result.standardError)")
        #expect(Date().timeIntervalSince(sent) < 20)
        #expect(result.standardOutput.contains("stopped before the first step"), "\(result.standardOutput)")
        // A second Ctrl-C does not wait for the save.
        let twice = try CLI.start(["train", "--data", corpus, "--out", directory.appendingPathComponent("twice").path, "--grad-accum", "65536"] + tiny)
        while !twice.standardErrorSoFar.contains("eval at step 0") && Date() < deadline.addingTimeInterval(60) { usleep(20_000) }
        kill(twice.process.processIdentifier, SIGINT)
        kill(twice.process.processIdentifier, SIGINT)
        let second = twice.finish()
        #expect(second.status == 130, "\(second.standardError)")
    }

    /// Item 8: streams and beams with limits.
    @Test func streamsAndBeamsAreCapped() throws {
        let model = try model()
        expectCleanFailure(try CLI.run(["sample", "--model", model, "--prompt-file", "/dev/zero", "--max-tokens", "2"]), mentioning: "MiB", status: 1)
        let big = directory.appendingPathComponent("big-prompt.txt")
        try Data(repeating: 0x61, count: (64 << 20) + 10).write(to: big)
        expectCleanFailure(try CLI.run(["sample", "--model", model, "--prompt-file", big.path, "--max-tokens", "2"]), mentioning: "64 MiB", status: 64)
        try FileManager.default.removeItem(at: big)
        for beams in ["100000", "65"] {
            expectCleanFailure(try CLI.run(["sample", "--model", model, "--num-beams", beams]), mentioning: "--num-beams", status: 64)
        }
        expectCleanFailure(try CLI.run(["sample", "--model", model, "--num-beams", "62"]), mentioning: "vocabulary size 61", status: 64)
        #expect(try CLI.run(["sample", "--model", model, "--num-beams", "4", "--max-tokens", "3"]).status == 0)
    }

    // MARK: - Silent wrong answers

    /// Item 9: --json and text give the same samples for the same seed.
    @Test func jsonAndTextDrawTheSameSamples() throws {
        let model = try model()
        for seed in ["1", "7", "123456789"] {
            let text = try CLI.run(["sample", "--model", model, "--seed", seed, "--max-tokens", "30", "--num-samples", "2", "--prompt", "KING"])
            let json = try CLI.run(["sample", "--model", model, "--seed", seed, "--max-tokens", "30", "--num-samples", "2", "--prompt", "KING", "--json"])
            let texts = json.standardOutput.split(separator: "\n").map {
                (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["text"] as! String
            }
            #expect(text.standardOutput == "KING" + texts[0] + "\n---\nKING" + texts[1] + "\n", "seed \(seed)")
        }
    }

    /// Item 10: finite but huge weights are an error, not a perfect score.
    @Test func overflowedForwardPassesAreErrors() throws {
        let model = try model()
        for (index, magnitude) in [Float(1e30), 1e20, 3e38].enumerated() {
            let path = try copy(model, to: "huge-\(index)")
            let url = URL(fileURLWithPath: path + "/model.safetensors")
            var data = try Data(contentsOf: url)
            let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
            let offsets = (header["wte.weight"] as! [String: Any])["data_offsets"] as! [Int]
            for position in stride(from: 8 + length + offsets[0], to: 8 + length + offsets[1], by: 4) {
                let value = position % 8 == 0 ? magnitude : -magnitude
                withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(position..<(position + 4), with: $0) }
            }
            try data.write(to: url)
            expectCleanFailure(try CLI.run(["eval", "--model", path, "--data", try text()]), mentioning: "overflowed", status: 1)
            expectCleanFailure(try CLI.run(["sample", "--model", path, "--logprobs", "1", "--max-tokens", "3"]), mentioning: "overflowed", status: 1)
        }
        // NaN or infinite weights are refused when the model loads.
        let nan = try copy(model, to: "nan-weights")
        let url = URL(fileURLWithPath: nan + "/model.safetensors")
        var data = try Data(contentsOf: url)
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { data.replaceSubrange((data.count - 4)..<data.count, with: $0) }
        try data.write(to: url)
        expectCleanFailure(try CLI.run(["info", "--model", nan]), mentioning: "holds nan", status: 1)
    }

    /// Item 11: biases, tiny temperatures and penalties.
    @Test func samplingValuesMeanWhatTheySay() throws {
        let model = try model()
        func tokens(_ extra: [String]) throws -> [Int] {
            let result = try CLI.run(["sample", "--model", model, "--max-tokens", "12", "--json", "--seed", "3"] + extra)
            #expect(result.status == 0, "\(result.standardError)")
            return (try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any])["tokens"] as! [Int]
        }
        #expect(try tokens(["--logit-bias", "5=inf"]) == Array(repeating: 5, count: 12))
        #expect(try tokens(["--logit-bias", "7=+inf", "--logit-bias", "5=inf"]) == Array(repeating: 5, count: 12))
        let greedy = try tokens(["--temperature", "0"])
        for tiny in ["1e-40", "1e-7", "0.0000001"] { #expect(try tokens(["--temperature", tiny]) == greedy, "temperature \(tiny)") }
        let banned = (0..<60).flatMap { ["--logit-bias", "\($0)=-inf"] }
        #expect(try tokens(banned) == Array(repeating: 60, count: 12))  // the one token left
        expectCleanFailure(try CLI.run(["sample", "--model", model] + banned + ["--logit-bias", "60=-inf"]), mentioning: "bans every", status: 64)
        for flags in [["--logit-bias", "5=nan"], ["--presence-penalty", "inf"], ["--presence-penalty", "nan"], ["--frequency-penalty", "nan"],
                      ["--frequency-penalty", "-inf"], ["--length-penalty", "nan", "--num-beams", "2"], ["--repetition-penalty", "inf"]] {
            expectCleanFailure(try CLI.run(["sample", "--model", model, "--max-tokens", "2"] + flags), mentioning: flags[0], status: 64)
        }
    }

    /// Item 13: edited checkpoints, changed data, a deleted tokenizer, a vocabulary of <unk> alone.
    @Test func resumeRefusesWhatIsNoLongerTheSameRun() throws {
        let corpus = directory.appendingPathComponent("resume.txt").path
        try FileManager.default.copyItem(atPath: try text(), toPath: corpus)
        let run = directory.appendingPathComponent("run").path
        #expect(try CLI.run(["train", "--data", corpus, "--out", run] + tiny).status == 0)
        let state = run + "/training.json"
        let saved = try Data(contentsOf: URL(fileURLWithPath: state))
        for (key, value) in [("next_iteration", -5), ("next_iteration", 1_000_000), ("optimizer_step", -1), ("optimizer_step", 999)] {
            try editJSON(state) { $0[key] = value }
            let before = try snapshot(run)
            expectCleanFailure(try CLI.run(["train", "--resume", run, "--max-iters", "30"]), mentioning: key, status: 1)
            #expect(try snapshot(run) == before)
            try saved.write(to: URL(fileURLWithPath: state))
        }
        // The text changed: refused, naming the file.
        let original = try Data(contentsOf: URL(fileURLWithPath: corpus))
        try (original + Data("more".utf8)).write(to: URL(fileURLWithPath: corpus))
        expectCleanFailure(try CLI.run(["train", "--resume", run, "--max-iters", "30"]), mentioning: "changed since this run started", status: 64)
        try original.write(to: URL(fileURLWithPath: corpus))
        // The tokenizer file deleted: made again from the record, and the run goes on.
        try FileManager.default.removeItem(atPath: run + "/gpt-tokenizer.json")
        let resumed = try CLI.run(["train", "--resume", run, "--max-iters", "30"])
        #expect(resumed.status == 0 && resumed.standardError.contains("made the missing tokenizer file again"), "\(resumed.standardError)")
        #expect(FileManager.default.fileExists(atPath: run + "/gpt-tokenizer.json"))
        // A word vocabulary of <unk> alone, and a text of one repeated character.
        let unk = directory.appendingPathComponent("unk.json")
        try "{\"type\": \"word\", \"vocabulary\": [\"<unk>\"]}".write(to: unk, atomically: true, encoding: .utf8)
        expectCleanFailure(try CLI.run(["train", "--data", corpus, "--tokenizer", unk.path, "--out", directory.appendingPathComponent("u").path] + tiny),
                           mentioning: "at least one word", status: 1)
        let same = directory.appendingPathComponent("same.txt")
        try String(repeating: "a", count: 5_000).write(to: same, atomically: true, encoding: .utf8)
        expectCleanFailure(try CLI.run(["train", "--data", same.path, "--out", directory.appendingPathComponent("a").path] + tiny),
                           mentioning: "single token id", status: 1)
    }

    /// Item 13: beam search honours --stop, --logprobs and the context, says why each hypothesis
    /// ended, and refuses --num-samples.
    @Test func beamSearchStopsLogsAndSaysWhy() throws {
        let model = try model()
        let base = ["sample", "--model", model, "--prompt", "KING", "--num-beams", "3", "--num-return", "3", "--json"]
        func hypotheses(_ extra: [String]) throws -> [[String: Any]] {
            let result = try CLI.run(base + extra)
            #expect(result.status == 0, "\(result.standardError)")
            return result.standardOutput.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }
        let plain = try hypotheses(["--max-tokens", "6", "--logprobs", "2"])
        #expect(plain.count == 3 && plain.allSatisfy { $0["finish_reason"] as? String == "length" })
        for hypothesis in plain {
            let logprobs = hypothesis["logprobs"] as! [[String: Any]]
            #expect(logprobs.count == (hypothesis["tokens"] as! [Int]).count)
            let sum = logprobs.reduce(0.0) { $0 + ($1["logprob"] as! Double) }
            #expect(abs(sum - (hypothesis["logprob_sum"] as! Double)) < 1e-3)
            #expect(logprobs.allSatisfy { ($0["top"] as! [Any]).count == 2 })
        }
        // Stops cut from the unconstrained hypotheses: none may appear in what is returned, and
        // (whichever hypotheses the beam keeps for this model) some must be reported as stopped.
        var stops = Set<String>()
        for hypothesis in plain {
            let text = Array(hypothesis["text"] as! String)
            for start in 0..<max(0, text.count - 1) { stops.insert(String(text[start..<(start + 2)])) }
        }
        var reported = 0
        for stop in stops.sorted().prefix(6) {
            let stopped = try hypotheses(["--max-tokens", "6", "--stop", stop])
            #expect(stopped.allSatisfy { !($0["text"] as! String).contains(stop) }, "\(stop): \(stopped)")
            reported += stopped.filter { $0["finish_reason"] as? String == "stop" }.count
        }
        #expect(reported > 0, "no hypothesis was reported as stopped for any of \(stops.sorted().prefix(6))")
        let context = try CLI.run(base + ["--max-tokens", "100"])
        #expect(context.standardError.contains("beam search stops after 12 tokens"), "\(context.standardError)")
        #expect(context.standardOutput.contains("\"finish_reason\":\"context\""))
        expectCleanFailure(try CLI.run(base + ["--num-samples", "2"]), mentioning: "--num-return", status: 64)
    }

    // MARK: - Data loss and messages

    /// Items 14 and 15: nothing existing is touched by a run that cannot start; clear messages.
    @Test func failedRunsLeaveExistingFilesAloneAndSayWhy() throws {
        let model = try model()
        let before = try snapshot(model)
        for flags in [["--grad-clip", "inf"], ["--grad-clip", "nan"], ["--learning-rate", "inf"], ["--batch-size", "1000000000"]] {
            expectCleanFailure(try CLI.run(["train", "--data", try text(), "--out", model, "--overwrite"] + tiny + flags),
                               mentioning: flags[0], status: 64)
            #expect(try snapshot(model) == before, "\(flags) touched the model")
        }
        expectCleanFailure(try CLI.run(["eval", "--model", model, "--data", "/dev/null"]), mentioning: "is empty", status: 1)
        expectCleanFailure(try CLI.run(["eval", "--model", model, "--data", "/dev/zero"]), mentioning: "stream of more than", status: 1)
        expectCleanFailure(try CLI.run(["info", "--model", try text()]), mentioning: "is a file, not a model directory", status: 1)
        expectCleanFailure(try CLI.run(["info", "--model", "/nonexistent/model"]), mentioning: "not found", status: 1)
        for command in [["train", "--out", ""], ["finetune", "--from", model, "--data", try text(), "--out", ""]] {
            expectCleanFailure(try CLI.run(command), mentioning: "--out", status: 64)
        }
        for temperatures in ["", ",", "0", "-1", "1,2,3,4,5,6,7,8,9"] {
            expectCleanFailure(
                try CLI.run(["viz", "next-token", "--model", model, "--prompt", "th", "--temperatures", temperatures, "--out", directory.appendingPathComponent("n.svg").path]),
                mentioning: "--temperatures", status: 64)
        }
        for perplexity in ["0", "nan", "-5"] {
            expectCleanFailure(
                try CLI.run(["viz", "embeddings", "--model", model, "--method", "tsne", "--perplexity", perplexity, "--out", directory.appendingPathComponent("e.svg").path]),
                mentioning: "--perplexity", status: 64)
        }
    }
}
