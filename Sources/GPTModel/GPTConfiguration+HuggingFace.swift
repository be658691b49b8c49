import Foundation
import GPTTensor

/// `config.json`: Hugging Face's GPT-2 key names (`n_layer`, `n_embd`, `n_inner` …), plus our own keys
/// for the switches GPT-2 lacks (`use_bias`, `position_encoding`, `normalization`). Keys GPT-2 files
/// leave out take GPT-2's defaults; keys we do not use (`bos_token_id` …) are ignored.
extension GPTConfiguration: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case modelType = "model_type", architectures, vocabularySize = "vocab_size", contextLength = "n_positions"
        case contextAlias = "n_ctx", embeddingSize = "n_embd", layerCount = "n_layer", headCount = "n_head", mlpSize = "n_inner"
        case activation = "activation_function", layerNormEpsilon = "layer_norm_epsilon"
        case tiesEmbeddings = "tie_word_embeddings", embeddingDropout = "embd_pdrop", attentionDropout = "attn_pdrop"
        case residualDropout = "resid_pdrop", initializerRange = "initializer_range", usesBias = "use_bias"
        case position = "position_encoding", normalization
    }

    /// transformers' names for the activations: GPT-2's tanh GELU has three.
    static func activation(named name: String) -> Activation? {
        switch name {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": .gelu
        case "relu": .relu
        default: nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try container.decodeIfPresent(String.self, forKey: .modelType), type != "gpt2", type != "swift-gpt" {
            throw ModelError("it describes a \"\(type)\" model; only GPT-2 models are supported")
        }
        let name = try container.decodeIfPresent(String.self, forKey: .activation) ?? "gelu_new"
        guard let activation = Self.activation(named: name) else {
            throw ModelError("activation_function \"\(name)\" is not supported (use gelu_new or relu)")
        }
        guard let context = try container.decodeIfPresent(Int.self, forKey: .contextLength)
            ?? container.decodeIfPresent(Int.self, forKey: .contextAlias)
        else {
            throw ModelError("it lacks the integer \"n_positions\"; it does not describe a GPT-2 model")
        }
        self.init(
            vocabularySize: try container.decode(Int.self, forKey: .vocabularySize), contextLength: context,
            embeddingSize: try container.decode(Int.self, forKey: .embeddingSize),
            layerCount: try container.decode(Int.self, forKey: .layerCount), headCount: try container.decode(Int.self, forKey: .headCount),
            mlpSize: try container.decodeIfPresent(Int.self, forKey: .mlpSize),
            usesBias: try container.decodeIfPresent(Bool.self, forKey: .usesBias) ?? true,
            position: try container.decodeIfPresent(PositionEncoding.self, forKey: .position) ?? .learned,
            normalization: try container.decodeIfPresent(Normalization.self, forKey: .normalization) ?? .pre,
            activation: activation,
            tiesEmbeddings: try container.decodeIfPresent(Bool.self, forKey: .tiesEmbeddings) ?? true,
            layerNormEpsilon: try container.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5)
        embeddingDropout = try container.decodeIfPresent(Float.self, forKey: .embeddingDropout) ?? 0
        attentionDropout = try container.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        residualDropout = try container.decodeIfPresent(Float.self, forKey: .residualDropout) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isGPT2Compatible ? "gpt2" : "swift-gpt", forKey: .modelType)
        if isGPT2Compatible { try container.encode(["GPT2LMHeadModel"], forKey: .architectures) }
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(contextLength, forKey: .contextLength)
        try container.encode(contextLength, forKey: .contextAlias)
        try container.encode(embeddingSize, forKey: .embeddingSize)
        try container.encode(layerCount, forKey: .layerCount)
        try container.encode(headCount, forKey: .headCount)
        // null means GPT-2's 4 × n_embd.
        if mlpSize == 4 * embeddingSize { try container.encodeNil(forKey: .mlpSize) } else { try container.encode(mlpSize, forKey: .mlpSize) }
        try container.encode(activation == .gelu ? "gelu_new" : "relu", forKey: .activation)
        try container.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try container.encode(tiesEmbeddings, forKey: .tiesEmbeddings)
        try container.encode(embeddingDropout, forKey: .embeddingDropout)
        try container.encode(attentionDropout, forKey: .attentionDropout)
        try container.encode(residualDropout, forKey: .residualDropout)
        try container.encode(0.02, forKey: .initializerRange)
        try container.encode(usesBias, forKey: .usesBias)
        try container.encode(position, forKey: .position)
        try container.encode(normalization, forKey: .normalization)
    }

    public func huggingFaceJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a `config.json` written by us or by `save_pretrained` and validates it; `source` names the
    /// file in errors, which name the key at fault.
    public init(huggingFaceJSON data: Data, source: String) throws {
        guard JSONInput.isShallow(data), let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(source) is not a JSON object; re-save the model")
        }
        // Sizes are whole numbers: 1.5 is not read as 1, nor 1e30 as anything.
        let sizeKeys: [CodingKeys] = [.vocabularySize, .contextLength, .contextAlias, .embeddingSize, .layerCount, .headCount, .mlpSize]
        for key in sizeKeys {
            guard let value = object[key.rawValue], !(value is NSNull) else { continue }
            guard CheckedSize.integer(value) != nil else {
                throw ModelError("\(source): \"\(key.rawValue)\" must be an integer (got \(value)); re-save the model")
            }
        }
        do {
            self = try JSONDecoder().decode(GPTConfiguration.self, from: data)
            try validate()
        } catch let error as ModelError {
            throw ModelError("\(source): \(error.message)")
        } catch let error as InvalidValue {
            throw ModelError("\(source): \(error.describe(field: error.field))")
        } catch let error as DecodingError {
            throw ModelError("\(source): \(Self.describe(error))")
        }
    }

    /// "\"n_layer\" must be an integer" and the like.
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "it lacks \"\(key.stringValue)\"; it does not describe a GPT-2 model"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let key = context.codingPath.last?.stringValue ?? "a value"
            return "\"\(key)\" has the wrong kind of value (\(context.debugDescription))"
        @unknown default:
            return "it could not be read"
        }
    }
}
