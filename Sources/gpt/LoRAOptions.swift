import ArgumentParser
import Foundation
import GPTModel
import GPTTokenizer

/// `gpt finetune`'s LoRA flags: train a low-rank adapter (PEFT's format) over the frozen model.
struct LoRAOptions: ParsableArguments {
    @Flag(help: "Train a LoRA adapter over the frozen model instead of the model itself (any --lora-* option implies it).")
    var lora = false
    @Option(parsing: .unconditional, help: "Adapter rank r (default 8).") var loraRank: Int?
    @Option(parsing: .unconditional, help: "Adapter alpha: updates are scaled by alpha / r (default 8).") var loraAlpha: Float?
    @Option(parsing: .unconditional, help: "Dropout on the adapter's input while training (default 0).") var loraDropout: Float?
    @Option(help: "Modules to adapt, comma-separated: c_attn, c_proj (both output projections), c_fc, attn.c_proj, mlp.c_proj, lm_head (default c_attn).")
    var loraTargets: String?

    var isEnabled: Bool { lora || loraRank != nil || loraAlpha != nil || loraDropout != nil || loraTargets != nil }

    /// The adapter's configuration (PEFT's defaults where a flag is not given).
    func configuration(baseModel: String) -> LoRAConfiguration {
        var configuration = LoRAConfiguration(baseModel: baseModel)
        if let loraRank { configuration.rank = loraRank }
        if let loraAlpha { configuration.alpha = loraAlpha }
        if let loraDropout { configuration.dropout = loraDropout }
        if let loraTargets {
            configuration.targets = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return configuration
    }

    func validate() throws {
        guard isEnabled else { return }
        if let loraRank, loraRank < 1 { throw ValidationError("--lora-rank must be at least 1 (got \(loraRank))") }
        if let loraAlpha, !(loraAlpha > 0 && loraAlpha.isFinite) {
            throw ValidationError("--lora-alpha must be a positive number (got \(loraAlpha))")
        }
        if let loraDropout, !(loraDropout >= 0 && loraDropout < 1) {
            throw ValidationError("--lora-dropout must be in [0, 1) (got \(loraDropout))")
        }
        do {
            _ = try configuration(baseModel: "").matrices()
        } catch let error as ModelError {
            throw ValidationError("--lora-targets: \(error.message)")
        }
    }
}

/// `--adapter DIR` (repeatable) and `--adapter-scale`: LoRA adapters merged into the model at load.
struct AdapterOptions: ParsableArguments {
    @Option(help: "A LoRA adapter directory (PEFT's format) merged into the model; repeat to stack several.")
    var adapter: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "The weight of each --adapter, in the same order (default 1 each).")
    var adapterScale: [Float] = []

    func validate() throws {
        if !adapterScale.isEmpty, adapterScale.count != adapter.count {
            throw ValidationError(
                "give one --adapter-scale per --adapter (\(adapter.count) adapters, \(adapterScale.count) scales)")
        }
        if let bad = adapterScale.first(where: { !$0.isFinite }) { throw ValidationError("--adapter-scale must be finite (got \(bad))") }
    }

    /// The model and tokenizer at `path`, with the adapters merged in. With adapters the model is
    /// loaded dense (a quantized GGUF file is dequantized to Float32 first).
    func load(model path: String, tokenizer: String?, use: ModelUse = .inference) throws -> (GPT, any Tokenizer) {
        guard !adapter.isEmpty else { return try loadModelAndTokenizer(model: path, tokenizer: tokenizer, use: use) }
        var (model, loaded) = try loadModelAndTokenizer(model: path, tokenizer: tokenizer, use: .dense)
        for (index, path) in adapter.enumerated() {
            let adapter = try AdapterDirectory.load(URL(fileURLWithPath: path), model: model.configuration)
            model = try adapter.merged(into: model, weight: adapterScale.isEmpty ? 1 : adapterScale[index])
        }
        return (model, loaded)
    }
}
