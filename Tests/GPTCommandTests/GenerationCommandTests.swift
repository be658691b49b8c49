import Foundation
import GPTTraining
import GPTTensor
import GPTModel
import GPTTestSupport
import Testing

/// `gpt sample` and `gpt eval` with the generation engine's options, on a Hugging Face GPT-2 directory.
@Suite(.serialized) struct GenerationCommandTests {
    var huggingFace: String { projectRoot.appendingPathComponent("Tests/GPTGenerationTests/Fixtures/hf-gpt2-bpe").path }
    var shakespeare: String { sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt").path }

    @Test func huggingFaceDirectorySamplesAndEvaluates() throws {
        let sample = try CLI.run(["sample", "--model", huggingFace, "--prompt", "ROMEO:", "--max-tokens", "20", "--temperature", "0"])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(sample.standardOutput.hasPrefix("ROMEO:"))
        let text = temporaryDirectory("hf-eval").appendingPathComponent("text.txt")
        try String(try String(contentsOfFile: shakespeare, encoding: .utf8).prefix(3000)).write(to: text, atomically: true, encoding: .utf8)
        let strided = try CLI.run(["eval", "--model", huggingFace, "--data", text.path, "--stride", "8", "--json"])
        #expect(strided.status == 0, "\(strided.standardError)")
        let plain = try CLI.run(["eval", "--model", huggingFace, "--data", text.path, "--json"])
        let a = try JSONSerialization.jsonObject(with: Data(strided.standardOutput.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(plain.standardOutput.utf8)) as! [String: Any]
        #expect(a["tokens"] as? Int == b["tokens"] as? Int)  // every target once either way
        // The command scores exactly what the library's evaluations (checked against transformers) score.
        let model = try ModelDirectory.loadModel(URL(fileURLWithPath: huggingFace))
        let tokenizer = try ModelDirectory.loadTokenizer(URL(fileURLWithPath: huggingFace))
        let ids = try tokenizer.encode(try String(contentsOf: text, encoding: .utf8)).map(Int32.init)
        let strideEight = try SequenceEvaluation.evaluate(model: model, tokens: ids, stride: 8, parallelism: Parallelism(threads: 2))
        let windows = try SequenceEvaluation.evaluate(model: model, tokens: ids, parallelism: Parallelism(threads: 2))
        #expect(abs((a["loss"] as! Double) - strideEight.loss) < 1e-6 * strideEight.loss, "strided \(a) vs \(strideEight.loss)")
        #expect(abs((b["loss"] as! Double) - windows.loss) < 1e-6 * windows.loss, "plain \(b) vs \(windows.loss)")
        #expect(strideEight.loss != windows.loss)  // more context per target changes the score
        expectCleanFailure(try CLI.run(["eval", "--model", huggingFace, "--data", text.path, "--stride", "0"]), mentioning: "--stride")
        expectCleanFailure(try CLI.run(["eval", "--model", huggingFace, "--data", text.path, "--stride", "33"]), mentioning: "--stride")
    }

    /// Windows batched by shape, with only the scored positions unembedded, give the losses of
    /// windows run one at a time; progress reaches every target.
    @Test func batchedWindowsScoreAsSingleOnes() throws {
        let model = try ModelDirectory.loadModel(URL(fileURLWithPath: huggingFace))
        let tokenizer = try ModelDirectory.loadTokenizer(URL(fileURLWithPath: huggingFace))
        let text = String(try String(contentsOfFile: shakespeare, encoding: .utf8).prefix(2500))
        let ids = try tokenizer.encode(text).map(Int32.init)
        let T = model.configuration.contextLength
        let parallelism = Parallelism(threads: 2)
        for stride in [1, 5, T] {
            var reports: [Int] = []
            let batched = try SequenceEvaluation.evaluate(
                model: model, tokens: ids, stride: stride, parallelism: parallelism) { done, total in
                #expect(total == ids.count - 1)
                reports.append(done)
            }
            let single = try SequenceEvaluation.evaluate(
                model: model, tokens: ids, stride: stride, parallelism: parallelism, maximumRows: T)
            #expect(batched.tokens == ids.count - 1 && single.tokens == ids.count - 1)
            #expect(abs(batched.loss - single.loss) < 1e-5 * single.loss, "stride \(stride): \(batched.loss) vs \(single.loss)")
            #expect(reports == reports.sorted() && reports.last == ids.count - 1)
            #expect(reports.count < ids.count / max(stride, 1) / 2 + 2, "stride \(stride): windows were not batched")
        }
        let batched = try SequenceEvaluation.evaluate(model: model, tokens: ids, parallelism: parallelism)
        let single = try SequenceEvaluation.evaluate(model: model, tokens: ids, parallelism: parallelism, maximumRows: T)
        #expect(abs(batched.loss - single.loss) < 1e-5 * single.loss)
    }

    @Test func jsonLogprobsStatisticsStopsAndBeams() throws {
        let json = try CLI.run([
            "sample", "--model", huggingFace, "--prompt", "KING", "--max-tokens", "12", "--json", "--logprobs", "2", "--stats",
            "--num-samples", "2", "--top-k", "20", "--top-p", "0.9", "--min-p", "0.01", "--repetition-penalty", "1.2",
            "--samplers", "top-k,penalties,temperature,top-p,min-p", "--ignore-eos",
        ])
        #expect(json.status == 0, "\(json.standardError)")
        let lines = json.standardOutput.split(separator: "\n")
        #expect(lines.count == 2)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["text", "tokens", "finish_reason", "logprobs", "statistics"])
        #expect((object["tokens"] as! [Int]).count == 12)
        #expect(object["finish_reason"] as? String == "length")
        let logprobs = object["logprobs"] as! [[String: Any]]
        #expect(logprobs.count == 12 && (logprobs[0]["top"] as! [Any]).count == 2)
        let statistics = object["statistics"] as! [String: Any]
        #expect(statistics["distinct_1"] != nil && statistics["mean_logprob"] != nil)

        let stopped = try CLI.run([
            "sample", "--model", huggingFace, "--prompt", "KING", "--max-tokens", "40", "--temperature", "0", "--json", "--ignore-eos",
        ])
        let full = (try JSONSerialization.jsonObject(with: Data(stopped.standardOutput.utf8)) as! [String: Any])["text"] as! String
        let stop = String(full.dropFirst(3).prefix(2))
        let cut = try CLI.run([
            "sample", "--model", huggingFace, "--prompt", "KING", "--max-tokens", "40", "--temperature", "0", "--json", "--ignore-eos",
            "--stop", stop,
        ])
        let cutObject = try JSONSerialization.jsonObject(with: Data(cut.standardOutput.utf8)) as! [String: Any]
        #expect(cutObject["finish_reason"] as? String == "stop")
        #expect(!(cutObject["text"] as! String).contains(stop))
        #expect(full.hasPrefix(cutObject["text"] as! String))

        let beams = try CLI.run([
            "sample", "--model", huggingFace, "--prompt", "KING", "--max-tokens", "6", "--num-beams", "3", "--num-return", "3", "--json", "--ignore-eos",
        ])
        #expect(beams.status == 0, "\(beams.standardError)")
        let hypotheses = beams.standardOutput.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(hypotheses.count == 3)
        let scores = hypotheses.map { $0["score"] as! Double }
        #expect(scores == scores.sorted(by: >))
    }

    /// `--logit-bias-text TEXT=BIAS` biases the one token TEXT encodes to, exactly as its id would.
    @Test func logitBiasByTextEqualsBiasById() throws {
        let greedy = ["sample", "--model", huggingFace, "--prompt", "KING", "--temperature", "0", "--ignore-eos", "--json"]
        // "e" is the single token 69 of this vocabulary; a bias of 100 forces it at every step.
        let byId = try CLI.run(greedy + ["--max-tokens", "6", "--logit-bias", "69=100"])
        let byText = try CLI.run(greedy + ["--max-tokens", "6", "--logit-bias-text", "e=100"])
        let unbiased = try CLI.run(greedy + ["--max-tokens", "6"])
        #expect(byText.status == 0, "\(byText.standardError)")
        #expect(byText.standardOutput == byId.standardOutput)
        let tokens = (try JSONSerialization.jsonObject(with: Data(byText.standardOutput.utf8)) as? [String: Any])?["tokens"] as? [Int]
        #expect(tokens == [69, 69, 69, 69, 69, 69], "\(byText.standardOutput)")
        #expect(byText.standardOutput != unbiased.standardOutput)
        // Split at the last '=': the text may contain one.
        #expect(try CLI.run(greedy + ["--max-tokens", "2", "--logit-bias-text", "==1.5"]).status == 0)
        expectCleanFailure(try CLI.run(greedy + ["--logit-bias-text", "KING and QUEEN=2"]), mentioning: "tokens, not one", status: 64)
        expectCleanFailure(try CLI.run(greedy + ["--logit-bias-text", "K=lots"]), mentioning: "--logit-bias-text", status: 64)
        expectCleanFailure(try CLI.run(greedy + ["--logit-bias", "99999=1"]), mentioning: "outside the model's vocabulary", status: 64)
    }

    @Test func badGenerationOptionsAreOneLineErrors() throws {
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--max-tokens", "0"]), mentioning: "--max-tokens")
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--top-p", "1.5"]), mentioning: "--top-p")
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--top-p", "0"]), mentioning: "--top-p")
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--samplers", "top-k,nucleus"]), mentioning: "unknown sampler 'nucleus'")
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--logit-bias", "x=1"]), mentioning: "--logit-bias")
        expectCleanFailure(try CLI.run(["sample", "--model", huggingFace, "--num-beams", "2", "--num-return", "3"]), mentioning: "--num-return")
    }
}
