import Foundation
import GPTTestSupport
import Testing

/// `gpt quantize`, `gpt export` and every inference command on a `.gguf` file, as a user runs them.
@Suite(.serialized) struct QuantizeCommandTests {
    let directory = temporaryDirectory("gpt-quantize")
    var huggingFace: String { projectRoot.appendingPathComponent("Tests/GPTGenerationTests/Fixtures/hf-gpt2-bpe").path }

    func text() throws -> String {
        let path = directory.appendingPathComponent("text.txt")
        let source = sharedDataDirectory.appendingPathComponent("tinyshakespeare.txt")
        try String(try String(contentsOf: source, encoding: .utf8).prefix(4000)).write(to: path, atomically: true, encoding: .utf8)
        return path.path
    }

    func evalLoss(_ model: String, _ data: String) throws -> Double {
        let result = try CLI.run(["eval", "--model", model, "--data", data, "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        return (try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any])["loss"] as! Double
    }

    @Test func quantizedFilesSampleEvaluateAndExport() throws {
        let data = try text()
        let f32 = directory.appendingPathComponent("model-f32.gguf").path
        let q8 = directory.appendingPathComponent("model-q8.gguf").path
        let written = try CLI.run(["quantize", "--model", huggingFace, "--type", "f32", "--out", f32])
        #expect(written.status == 0, "\(written.standardError)")
        #expect(written.standardOutput.contains("llama.cpp: runs it"))
        // F32: the same numbers as the directory, exactly.
        #expect(try evalLoss(f32, data) == (try evalLoss(huggingFace, data)))

        let quantized = try CLI.run(["quantize", "--model", huggingFace, "--type", "q8_0", "--out", q8, "--eval-data", data])
        #expect(quantized.status == 0, "\(quantized.standardError)")
        #expect(quantized.standardOutput.contains("Q8_0 matrices"))
        #expect(quantized.standardOutput.contains("mean KL:") && quantized.standardOutput.contains("same top token:"))
        let sample = try CLI.run(["sample", "--model", q8, "--prompt", "ROMEO:", "--max-tokens", "12", "--temperature", "0"])
        #expect(sample.status == 0, "\(sample.standardError)")
        #expect(sample.standardOutput.hasPrefix("ROMEO:"))
        let info = try CLI.run(["info", "--model", q8])
        #expect(info.standardOutput.contains("weights:        Q8_0 matrices"), "\(info.standardOutput)")
        let lossQ8 = try evalLoss(q8, data)
        #expect(abs(lossQ8 - (try evalLoss(huggingFace, data))) < 0.05)
        // Against the original on the same windows: the same loss as eval, the reference's own, and KL ≥ 0.
        let compared = try CLI.run(["eval", "--model", q8, "--data", data, "--kl-reference", huggingFace, "--json"])
        #expect(compared.status == 0, "\(compared.standardError)")
        let comparison = try JSONSerialization.jsonObject(with: Data(compared.standardOutput.utf8)) as! [String: Any]
        #expect(abs((comparison["loss"] as! Double) - lossQ8) < 1e-4)
        #expect(abs((comparison["reference_loss"] as! Double) - (try evalLoss(huggingFace, data))) < 1e-4)
        let divergence = comparison["mean_kl_divergence"] as! Double
        #expect(divergence > 0 && divergence < 0.05 && (comparison["same_top_token"] as! Double) > 0.8)
        let strided = try CLI.run(["eval", "--model", q8, "--data", data, "--kl-reference", huggingFace, "--stride", "4"])
        #expect(strided.status == 64 && strided.standardError.contains("--stride"))

        // Back to a directory: dequantized Float32, usable by every command (training included).
        let exported = directory.appendingPathComponent("exported").path
        let export = try CLI.run(["export", "--model", q8, "--out", exported])
        #expect(export.status == 0, "\(export.standardError)")
        #expect(export.standardOutput.contains("from Q8_0"))
        #expect(abs(try evalLoss(exported, data) - lossQ8) < 0.01)
        let again = try CLI.run(["export", "--model", q8, "--out", exported])
        #expect(again.status == 64 && again.standardError.contains("--overwrite"))
    }

    @Test func misuseIsOneLineErrors() throws {
        let q8 = directory.appendingPathComponent("m.gguf").path
        #expect(try CLI.run(["quantize", "--model", huggingFace, "--type", "q8_0", "--out", q8]).status == 0)
        let cases: [([String], Int32, String)] = [
            (["quantize", "--model", huggingFace, "--type", "q3_x", "--out", q8], 64, "--type"),
            (["quantize", "--model", huggingFace, "--type", "q8_0", "--out", directory.appendingPathComponent("m.bin").path], 64, "must name a .gguf file"),
            (["quantize", "--model", huggingFace, "--type", "q8_0", "--out", q8], 64, "pass --overwrite"),
            (["quantize", "--model", q8, "--type", "q4_0", "--out", q8 + ".2.gguf"], 64, "is a GGUF file"),
            (["finetune", "--from", q8, "--data", try text(), "--out", directory.appendingPathComponent("ft").path], 64, "gpt export --model"),
            (["export", "--model", huggingFace, "--out", directory.appendingPathComponent("x").path], 64, "must name a .gguf file"),
            (["sample", "--model", directory.appendingPathComponent("missing.gguf").path, "--prompt", "a"], 1, "not found"),
        ]
        for (arguments, status, message) in cases {
            let result = try CLI.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.standardError)")
            #expect(result.standardError.hasPrefix("error:") && result.standardError.contains(message), "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
        }
        // A truncated file: the one-line error the GGUF reader gives, exit 1.
        let truncated = directory.appendingPathComponent("cut.gguf")
        try Data(try Data(contentsOf: URL(fileURLWithPath: q8)).prefix(5000)).write(to: truncated)
        let cut = try CLI.run(["sample", "--model", truncated.path, "--prompt", "a"])
        #expect(cut.status == 1 && cut.standardError.contains("truncated"), "\(cut.standardError)")
    }
}
