import Foundation

/// What a low-rank adapter adapts and how strongly: PEFT's `LoraConfig` fields that swift-gpt uses.
/// Module names are GPT-2's, matched as PEFT matches them (a name, or the end of one after a dot):
/// `c_attn`, `c_fc`, `c_proj` (both the attention's and the MLP's output projection),
/// `attn.c_proj`, `mlp.c_proj`, and `lm_head` (the unembedding: with tied embeddings only its use as
/// the output layer is adapted, as PEFT does).
public struct LoRAConfiguration: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    /// Dropout on the adapter's input while training (PEFT's `lora_dropout`).
    public var dropout: Float
    public var targets: [String]
    /// rsLoRA's scale alpha / √r instead of alpha / r (PEFT's `use_rslora`).
    public var rankStabilized: Bool
    /// `base_model_name_or_path`: the model the adapter was trained on, as given to `--from`.
    public var baseModel: String

    public init(
        rank: Int = 8, alpha: Float = 8, dropout: Float = 0, targets: [String] = ["c_attn"], rankStabilized: Bool = false,
        baseModel: String = ""
    ) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.rankStabilized = rankStabilized
        self.baseModel = baseModel
    }

    /// The factor on B·A: alpha / r (alpha / √r with rsLoRA).
    public var scale: Float { rankStabilized ? alpha / Float(rank).squareRoot() : alpha / Float(rank) }

    /// The module names `--lora-targets` accepts.
    public static let moduleNames = ["c_attn", "c_proj", "c_fc", "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj", "lm_head"]

    /// Whether the unembedding (`lm_head`) is adapted.
    public var adaptsUnembedding: Bool { targets.contains("lm_head") }

    /// The block matrices the targets name, in the block's order (throws on an unknown name).
    public func matrices() throws -> [BlockMatrix] {
        var chosen = Set<BlockMatrix>()
        for target in targets {
            switch target {
            case "c_attn", "attn.c_attn": chosen.insert(.qkv)
            case "c_proj": chosen.formUnion([.attentionProjection, .mlpDown])
            case "attn.c_proj": chosen.insert(.attentionProjection)
            case "c_fc", "mlp.c_fc": chosen.insert(.mlpUp)
            case "mlp.c_proj": chosen.insert(.mlpDown)
            case "lm_head": break
            default:
                throw ModelError(
                    "unknown LoRA target module '\(target)'; GPT-2's are \(Self.moduleNames.joined(separator: ", "))")
            }
        }
        guard !chosen.isEmpty || adaptsUnembedding else {
            throw ModelError("a LoRA adapter needs at least one target module (e.g. c_attn)")
        }
        return BlockMatrix.allCases.filter(chosen.contains)
    }

    /// Throws unless rank, alpha, dropout and targets fit a model of `model`'s shape.
    public func validate(for model: GPTConfiguration) throws {
        var shapes = try matrices().map { model.shape(of: $0) }
        if adaptsUnembedding { shapes.append((model.embeddingSize, model.vocabularySize)) }
        let smallest = shapes.map { min($0.input, $0.output) }.min()!
        guard rank >= 1, rank <= smallest else {
            throw ModelError(
                "LoRA rank \(rank) must be between 1 and \(smallest) (the smallest side of the adapted matrices)")
        }
        guard alpha.isFinite, alpha > 0 else { throw ModelError("LoRA alpha must be a positive number (got \(alpha))") }
        guard dropout >= 0, dropout < 1 else { throw ModelError("LoRA dropout must be in [0, 1) (got \(dropout))") }
    }

    /// PEFT's GPT-2 module path of a block matrix: `transformer.h.N.attn.c_attn`.
    static func modulePath(layer: Int, matrix: BlockMatrix) -> String {
        let module: String
        switch matrix {
        case .qkv: module = "attn.c_attn"
        case .attentionProjection: module = "attn.c_proj"
        case .mlpUp: module = "mlp.c_fc"
        case .mlpDown: module = "mlp.c_proj"
        }
        return "base_model.model.transformer.h.\(layer).\(module)"
    }
}

extension LoRAConfiguration {
    public static let fileName = "adapter_config.json"

    /// `adapter_config.json` as PEFT writes it for a LoRA adapter on GPT-2 (Conv1D: `fan_in_fan_out`).
    public func peftJSON() throws -> Data {
        let object: [String: Any] = [
            "alpha_pattern": [String: Any](), "auto_mapping": NSNull(), "base_model_name_or_path": baseModel,
            "bias": "none", "fan_in_fan_out": true, "inference_mode": true, "init_lora_weights": true,
            "layers_pattern": NSNull(), "layers_to_transform": NSNull(), "lora_alpha": Double(alpha),
            "lora_dropout": Double(dropout), "modules_to_save": NSNull(), "peft_type": "LORA", "r": rank,
            "rank_pattern": [String: Any](), "revision": NSNull(), "target_modules": targets, "task_type": "CAUSAL_LM",
            "use_dora": false, "use_rslora": rankStabilized,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Reads PEFT's `adapter_config.json`, refusing what swift-gpt does not apply (DoRA, trained
    /// biases, per-module ranks, extra trained modules) rather than applying part of it.
    public init(peftJSON data: Data, source: String) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(source) is not a JSON object; it is not a PEFT adapter configuration")
        }
        func number(_ key: String) throws -> Double {
            guard let value = object[key] as? NSNumber else {
                throw ModelError("\(source): '\(key)' is missing or not a number; it is not a PEFT LoRA configuration")
            }
            return value.doubleValue
        }
        func refuse(_ what: String) -> ModelError {
            ModelError("\(source) uses \(what), which swift-gpt does not apply; train the adapter without it")
        }
        guard (object["peft_type"] as? String)?.uppercased() == "LORA" else {
            throw ModelError("\(source): peft_type is \(object["peft_type"].map { "\($0)" } ?? "missing"), not LORA")
        }
        let rank = try number("r")
        guard rank == rank.rounded(), rank >= 1, rank <= 65_536 else { throw ModelError("\(source): r \(rank) is not a valid rank") }
        let targets: [String]
        if let list = object["target_modules"] as? [String] {
            targets = list
        } else if let single = object["target_modules"] as? String, Self.moduleNames.contains(single) {
            targets = [single]
        } else {
            throw ModelError(
                "\(source): target_modules must list module names (\(Self.moduleNames.joined(separator: ", "))); a regular expression is not supported")
        }
        for key in ["use_dora", "lora_bias", "use_qalora"] where (object[key] as? Bool) == true { throw refuse(key) }
        if let bias = object["bias"] as? String, bias != "none" { throw refuse("trained biases (bias: \(bias))") }
        for key in ["rank_pattern", "alpha_pattern"] where !((object[key] as? [String: Any])?.isEmpty ?? true) {
            throw refuse("per-module ranks or alphas (\(key))")
        }
        let unsupported = [
            "modules_to_save", "layers_to_transform", "layer_replication", "exclude_modules", "target_parameters",
            "trainable_token_indices",
        ]
        for key in unsupported where !(object[key] == nil || object[key] is NSNull) {
            throw refuse("\(key)")
        }
        self.init(
            rank: Int(rank), alpha: Float(try number("lora_alpha")),
            dropout: Float((object["lora_dropout"] as? NSNumber)?.doubleValue ?? 0), targets: targets,
            rankStabilized: (object["use_rslora"] as? Bool) ?? false,
            baseModel: (object["base_model_name_or_path"] as? String) ?? "")
        guard alpha.isFinite, dropout >= 0, dropout < 1 else {
            throw ModelError("\(source): lora_alpha \(alpha) or lora_dropout \(dropout) is out of range")
        }
        _ = try matrices()
    }
}
