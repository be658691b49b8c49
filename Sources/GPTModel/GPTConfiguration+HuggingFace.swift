import Foundation
import GPTTensor

/// `config.json` in Hugging Face's GPT-2 key names, plus our own keys for the
/// switches GPT-2 lacks (`use_bias`, `position_encoding`, `normalization`).
extension GPTConfiguration {
    public func huggingFaceJSON() throws -> Data {
        var object: [String: Any] = [
            "model_type": isGPT2Compatible ? "gpt2" : "swift-gpt",
            "vocab_size": vocabularySize,
            "n_positions": contextLength,
            "n_ctx": contextLength,
            "n_embd": embeddingSize,
            "n_layer": layers,
            "n_head": heads,
            "n_inner": NSNull(),
            "activation_function": activation == .gelu ? "gelu_new" : "relu",
            "layer_norm_epsilon": Double(layerNormEpsilon),
            "tie_word_embeddings": tieEmbeddings,
            "embd_pdrop": Double(embeddingDropout),
            "attn_pdrop": Double(attentionDropout),
            "resid_pdrop": Double(residualDropout),
            "initializer_range": 0.02,
            "use_bias": bias,
            "position_encoding": position.rawValue,
            "normalization": normalization.rawValue,
        ]
        if isGPT2Compatible {
            object["architectures"] = ["GPT2LMHeadModel"]
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Reads a `config.json` written by us or by `save_pretrained`; `source` names the file in errors.
    public init(huggingFaceJSON data: Data, source: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError("\(source) is not a JSON object; re-save the model")
        }
        func integer(_ key: String, fallback: String? = nil) throws -> Int {
            if let value = (object[key] as? NSNumber)?.intValue { return value }
            if let fallback, let value = (object[fallback] as? NSNumber)?.intValue { return value }
            throw ModelError("\(source) lacks the integer \"\(key)\"; it does not describe a GPT-2 model")
        }
        func number(_ key: String, default value: Float) -> Float {
            (object[key] as? NSNumber)?.floatValue ?? value
        }
        if let type = object["model_type"] as? String, type != "gpt2", type != "swift-gpt" {
            throw ModelError("\(source) describes a \"\(type)\" model; only GPT-2 models are supported")
        }
        let activation: Activation
        switch object["activation_function"] as? String ?? "gelu_new" {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": activation = .gelu
        case "relu": activation = .relu
        case let other:
            throw ModelError("\(source): activation_function \"\(other)\" is not supported (use gelu_new or relu)")
        }
        let embedding = try integer("n_embd")
        if let inner = (object["n_inner"] as? NSNumber)?.intValue, inner != 4 * embedding {
            throw ModelError("\(source): n_inner \(inner) is not supported (the MLP is 4 × n_embd wide)")
        }
        guard
            let position = PositionEncoding(rawValue: object["position_encoding"] as? String ?? "learned"),
            let normalization = Normalization(rawValue: object["normalization"] as? String ?? "pre")
        else {
            throw ModelError("\(source): position_encoding must be learned|sinusoidal and normalization pre|post")
        }
        self.init(
            vocabularySize: try integer("vocab_size"), contextLength: try integer("n_positions", fallback: "n_ctx"),
            embeddingSize: embedding, layers: try integer("n_layer"), heads: try integer("n_head"),
            bias: object["use_bias"] as? Bool ?? true, position: position, normalization: normalization,
            activation: activation, tieEmbeddings: object["tie_word_embeddings"] as? Bool ?? true,
            layerNormEpsilon: number("layer_norm_epsilon", default: 1e-5))
        embeddingDropout = number("embd_pdrop", default: 0)
        attentionDropout = number("attn_pdrop", default: 0)
        residualDropout = number("resid_pdrop", default: 0)
        do {
            try validate()
        } catch let error as ModelError {
            throw ModelError("\(source): \(error.message)")
        }
    }
}
