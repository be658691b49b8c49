import Foundation
import GPTFormats
import GPTTensor
import GPTTokenizer

/// The configuration and tokenizer a GGUF file's metadata describes: swift-gpt's own keys when the
/// file has them (its config.json and tokenizer, exactly), else llama.cpp's GPT-2 keys.
extension GGUFModel {
    /// The model configuration the file's metadata (and token embedding) describe, validated.
    public static func configuration(of file: GGUFFile) throws -> GPTConfiguration {
        let path = file.url.path
        if let json = file.metadata[GGUFNames.configurationKey]?.string {
            return try GPTConfiguration(huggingFaceJSON: Data(json.utf8), source: "\(path) (\(GGUFNames.configurationKey))")
        }
        let architecture = file.metadata["general.architecture"]?.string ?? "an unnamed"
        guard architecture == "gpt2" else {
            throw ModelError(
                "\(path) holds \(architecture == "an unnamed" ? "a model without general.architecture" : "a \(architecture) model"); swift-gpt runs GPT-2 models (general.architecture gpt2)")
        }
        func size(_ key: String) throws -> Int {
            guard let value = file.metadata["gpt2." + key]?.integer, value > 0, value <= 1 << 24 else {
                throw ModelError("\(path): gpt2.\(key) is missing or not a size in 1…\(1 << 24); the file is corrupt")
            }
            return value
        }
        var epsilon: Float = 1e-5
        if let value = file.metadata["gpt2.attention.layer_norm_epsilon"] {
            guard case .float32(let given) = value else {
                throw ModelError("\(path): gpt2.attention.layer_norm_epsilon is not a float32; the file is corrupt")
            }
            epsilon = given
        }
        guard let embedding = file.tensor("token_embd.weight"), embedding.dimensions.count == 2 else {
            throw ModelError("\(path) has no 2-D token_embd.weight; it is not a GPT-2 model")
        }
        // llama.cpp repeats a tied unembedding as output.weight: the same bytes mean tied.
        var tied = true
        if let output = file.tensor("output.weight") {
            tied = output.type == embedding.type && output.byteRange.count == embedding.byteRange.count
                && memcmp(file.baseAddress + output.byteRange.lowerBound, file.baseAddress + embedding.byteRange.lowerBound, output.byteRange.count) == 0
        }
        let configuration = GPTConfiguration(
            vocabularySize: embedding.dimensions[1], contextLength: try size("context_length"),
            embeddingSize: try size("embedding_length"), layerCount: try size("block_count"),
            headCount: try size("attention.head_count"), mlpSize: try size("feed_forward_length"),
            tiesEmbeddings: tied, layerNormEpsilon: epsilon)
        do {
            try configuration.validate()
        } catch let error as InvalidValue {
            throw ModelError("\(path): the gpt2.* metadata describes an impossible model: \(error.describe(field: error.field))")
        }
        return configuration
    }

    static func tokenizer(of file: GGUFFile) throws -> any Tokenizer {
        let path = file.url.path
        if let json = file.metadata[GGUFNames.tokenizerKey]?.string {
            return try TokenizerDescription(data: Data(json.utf8), source: "\(path) (\(GGUFNames.tokenizerKey))").makeTokenizer()
        }
        let model = file.metadata["tokenizer.ggml.model"]?.string ?? "none"
        guard model == "gpt2" else {
            throw ModelError("\(path) has a \(model) tokenizer (tokenizer.ggml.model); swift-gpt reads GPT-2's byte-level BPE (gpt2)")
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.array, let merges = file.metadata["tokenizer.ggml.merges"]?.array
        else {
            throw ModelError("\(path) lacks tokenizer.ggml.tokens or tokenizer.ggml.merges; the file is incomplete")
        }
        let types = file.metadata["tokenizer.ggml.token_type"]?.array ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw ModelError("\(path): tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens; the file is corrupt")
        }
        // Unused entries at the end ([PAD…], a padded vocabulary) are ids no text maps to.
        var count = tokens.count
        while count > 0, types.count == tokens.count, types[count - 1].integer == 5 { count -= 1 }
        var vocabulary: [String: Int] = [:]
        var special: [String: Int] = [:]
        for id in 0..<count {
            guard let token = tokens[id].string else { throw ModelError("\(path): token \(id) is not a string; the file is corrupt") }
            if types.count == tokens.count, types[id].integer == 3 || types[id].integer == 4 {
                special[token] = id
            } else {
                vocabulary[token] = id
            }
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let parts = merge.string?.split(separator: " ", omittingEmptySubsequences: false) ?? []
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ModelError("\(path): merge \(index) is not \"left right\"; the file is corrupt")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        do {
            return try BytePairTokenizer(vocabulary: vocabulary.merging(special) { a, _ in a }, merges: pairs, specialTokens: special, source: path)
        } catch let error as TokenizerError {
            throw ModelError(error.message)
        }
    }
}
