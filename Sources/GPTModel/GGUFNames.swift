import GPTTensor

/// llama.cpp's names for a GPT-2 model's tensors (`llm_build_gpt2`), and how each maps onto
/// swift-gpt's (GPT-2's Hugging Face) names. GGUF stores every matrix with rows along the input
/// dimension, so GPT-2's Conv1D weights ([in, out]) are transposed on the way in and out;
/// embeddings and `lm_head` ([rows, C]) already have that layout.
enum GGUFNames {
    /// One tensor of the file: its GGUF name, our name (nil for a tied `output.weight`, which has
    /// none), and whether it is one of the matrices the products read.
    struct Entry {
        let gguf: String
        let ours: String?
        /// Stored [in, out] by us (Conv1D): transposed in GGUF.
        let transposed: Bool
        let isMatrix: Bool
    }

    /// Every tensor of a model with `configuration`, in file order.
    static func entries(_ configuration: GPTConfiguration) -> [Entry] {
        var entries = [Entry(gguf: "token_embd.weight", ours: "wte.weight", transposed: false, isMatrix: true)]
        if configuration.position == .learned {
            entries.append(Entry(gguf: "position_embd.weight", ours: "wpe.weight", transposed: false, isMatrix: false))
        }
        let parts: [(gguf: String, ours: String, matrix: Bool)] = [
            ("attn_norm", "ln_1", false), ("attn_qkv", "attn.c_attn", true), ("attn_output", "attn.c_proj", true),
            ("ffn_norm", "ln_2", false), ("ffn_up", "mlp.c_fc", true), ("ffn_down", "mlp.c_proj", true),
        ]
        for layer in 0..<configuration.layerCount {
            for part in parts {
                entries.append(
                    Entry(gguf: "blk.\(layer).\(part.gguf).weight", ours: "h.\(layer).\(part.ours).weight", transposed: part.matrix, isMatrix: part.matrix))
                if configuration.usesBias {
                    entries.append(Entry(gguf: "blk.\(layer).\(part.gguf).bias", ours: "h.\(layer).\(part.ours).bias", transposed: false, isMatrix: false))
                }
            }
        }
        entries.append(Entry(gguf: "output_norm.weight", ours: "ln_f.weight", transposed: false, isMatrix: false))
        if configuration.usesBias {
            entries.append(Entry(gguf: "output_norm.bias", ours: "ln_f.bias", transposed: false, isMatrix: false))
        }
        entries.append(
            Entry(gguf: "output.weight", ours: configuration.tiesEmbeddings ? nil : "lm_head.weight", transposed: false, isMatrix: true))
        return entries
    }

    /// The matrix of block `layer` a GGUF name stands for.
    static func blockMatrix(_ name: String) -> BlockMatrix? {
        switch name.split(separator: ".").dropFirst(2).first {
        case "attn_qkv": .qkv
        case "attn_output": .attentionProjection
        case "ffn_up": .mlpUp
        case "ffn_down": .mlpDown
        default: nil
        }
    }


    /// swift-gpt's own metadata keys: the model's config.json, and (for tokenizers llama.cpp has
    /// no equivalent of) its gpt-tokenizer.json, both as strings.
    static let configurationKey = "swift_gpt.config"
    static let tokenizerKey = "swift_gpt.tokenizer"
    /// `general.architecture` of files llama.cpp cannot run (it then refuses them by name).
    static let ownArchitecture = "swift-gpt"
}
