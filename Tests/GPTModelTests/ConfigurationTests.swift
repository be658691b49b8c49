import Foundation
import GPTModel
import GPTTensor
import Testing

/// config.json: what we write reads back, GPT-2 files read, and bad files name the key at fault.
@Suite struct ConfigurationTests {
    @Test(arguments: 0..<GradientCheckTests.switches.count)
    func everySwitchRoundTripsThroughConfigJSON(index: Int) throws {
        var configuration = GradientCheckTests.switches[index].1
        configuration.layerNormEpsilon = 1e-6
        let read = try GPTConfiguration(huggingFaceJSON: try configuration.huggingFaceJSON(), source: "config.json")
        #expect(read == configuration, "\(GradientCheckTests.switches[index].0)")
    }

    @Test func gpt2KeysAndDefaults() throws {
        let minimal = #"{"vocab_size": 11, "n_ctx": 8, "n_embd": 16, "n_layer": 2, "n_head": 4, "n_inner": 24, "activation_function": "gelu_pytorch_tanh"}"#
        let configuration = try GPTConfiguration(huggingFaceJSON: Data(minimal.utf8), source: "c.json")
        #expect(configuration.contextLength == 8 && configuration.mlpSize == 24 && configuration.activation == .gelu)
        #expect(configuration.usesBias && configuration.tiesEmbeddings && configuration.position == .learned)
        let object = try JSONSerialization.jsonObject(with: try configuration.huggingFaceJSON()) as! [String: Any]
        #expect(object["n_inner"] as? Int == 24 && object["model_type"] as? String == "gpt2")
        // GPT-2's width is written as null, as transformers writes it.
        let standard = GPTConfiguration(vocabularySize: 11, contextLength: 8, embeddingSize: 16, layerCount: 2, headCount: 4)
        let written = try JSONSerialization.jsonObject(with: try standard.huggingFaceJSON()) as! [String: Any]
        #expect(written["n_inner"] is NSNull)
    }

    @Test(arguments: [
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 16, "n_layer": 0, "n_head": 4}"#, "n_layer must be positive (got 0)"),
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 15, "n_layer": 1, "n_head": 4}"#, "n_embd must be divisible by n_head 4"),
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 16, "n_layer": "two", "n_head": 4}"#, "\"n_layer\" must be an integer (got two)"),
        (#"{"vocab_size": 11, "n_embd": 16, "n_layer": 1, "n_head": 4}"#, "lacks the integer \"n_positions\""),
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 16, "n_layer": 1, "n_head": 4, "model_type": "llama"}"#, "\"llama\" model"),
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 16, "n_layer": 1, "n_head": 4, "activation_function": "silu"}"#, "silu"),
        (#"{"vocab_size": 11, "n_positions": 8, "n_embd": 16, "n_layer": 1, "n_head": 4, "resid_pdrop": 1.5}"#, "resid_pdrop must be in [0, 1)"),
        (#"{"vocab_size": 50257, "n_positions": 8, "n_embd": 1048576, "n_layer": 96, "n_head": 4}"#, "more than this machine"),
        (#"{"vocab_size": 9223372036854775807, "n_positions": 8, "n_embd": 16, "n_layer": 1, "n_head": 4}"#, "vocab_size makes more parameters than any machine holds"),
        (#"[1, 2]"#, "not a JSON object"),
    ])
    func badFilesNameTheKeyAtFault(json: String, fragment: String) {
        do {
            _ = try GPTConfiguration(huggingFaceJSON: Data(json.utf8), source: "c.json")
            Issue.record("accepted \(json)")
        } catch let error as ModelError {
            #expect(error.message.hasPrefix("c.json"), "\(error.message)")
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
