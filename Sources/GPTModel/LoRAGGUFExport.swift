import Foundation
import GPTFormats
import GPTTensor

/// Writes a LoRA adapter as a llama.cpp adapter GGUF (`llama-cli --lora FILE`): `general.type =
/// "adapter"`, `adapter.type = "lora"`, `adapter.lora.alpha`, and for each adapted matrix the base
/// tensor's GGUF name plus `.lora_a` (ggml dimensions {in, r}) and `.lora_b` ({r, out}) — PEFT's
/// arrays A [r, in] and B [out, r] unchanged, F32. llama.cpp adds scale · alpha / r · B (A x) to
/// the base product, which is exactly the adapter's update.
public enum LoRAGGUFExport {
    public static func write(_ adapter: LoRAAdapter, name: String, to url: URL) throws {
        let configuration = adapter.modelConfiguration
        guard configuration.isGPT2Compatible, configuration.usesBias else {
            throw ModelError(
                "llama.cpp runs only GPT-2-shaped models (learned positions, pre-norm, GELU, biases); this adapter's base is not one, so no llama.cpp adapter can apply it")
        }
        guard !adapter.configuration.rankStabilized else {
            throw ModelError("llama.cpp scales adapters by alpha / r; an rsLoRA adapter (alpha / √r) cannot be written for it")
        }
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("gpt2")),
            ("general.type", .string("adapter")),
            ("general.name", .string(name)),
            ("adapter.type", .string("lora")),
            ("adapter.lora.alpha", .float32(adapter.configuration.alpha)),
        ]
        let parts: [BlockMatrix: String] = [.qkv: "attn_qkv", .attentionProjection: "attn_output", .mlpUp: "ffn_up", .mlpDown: "ffn_down"]
        var named: [(base: String, site: LoRASite)] = []
        for layer in 0..<configuration.layerCount {
            for matrix in BlockMatrix.allCases {
                if let site = adapter.site(layer: layer, matrix: matrix) { named.append(("blk.\(layer).\(parts[matrix]!).weight", site)) }
            }
        }
        if let site = adapter.unembeddingSite { named.append(("output.weight", site)) }
        let r = adapter.rank
        let pointer = UnsafePointer(adapter.parameters.pointer)
        for (base, site) in named {
            let a = Array(UnsafeBufferPointer(start: pointer + site.a, count: r * site.input))
            let b = Array(UnsafeBufferPointer(start: pointer + site.b, count: site.output * r))
            writer.tensors.append(.float32(base + ".lora_a", dimensions: [site.input, r], values: a))
            writer.tensors.append(.float32(base + ".lora_b", dimensions: [r, site.output], values: b))
        }
        try writer.write(to: url)
    }
}
