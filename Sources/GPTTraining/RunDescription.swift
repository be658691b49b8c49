import GPTModel
import GPTTensor

/// What a training run was made from, kept in its checkpoint so that `--resume` rebuilds the same
/// run. The JSON keys are the flag names (`val-data`, `keep-best` …); keys a run does not use are
/// left out, and a missing key reads as its default.
public struct RunDescription: Codable, Equatable, Sendable {
    /// The command that made the run: train | finetune | distill.
    public var command = "train"
    /// Training and validation files (absolute paths; nil: the embedded corpus, the 90/10 split).
    public var data: String?
    public var validationData: String?
    public var allowSpecial = false
    /// The vocabulary size (needed to read token files again).
    public var vocabularySize: Int?
    public var keepBest = false
    /// The JSON-lines log (absolute path).
    public var log: String?
    /// Fine-tuning: what is not trained.
    public var freezing = Freezing()
    /// LoRA fine-tuning: the base model's path (absolute); the adapter's settings are in its own
    /// `adapter_config.json`.
    public var loraBase: String?
    /// Distillation: the teacher's directory, the temperature and the weight of its term.
    public var teacher: String?
    public var temperature: Float?
    public var alpha: Float?
    /// The thread count the run used: the work split, hence bit-identity on resume, depends on it.
    public var threads: Int?
    /// Data-parallel runs: the number of ranks, and whether the optimizer's state is sharded over them.
    public var ranks: Int?
    public var shardOptimizer = false
    /// SHA-256 of the training and validation texts: a resumed run refuses text that changed.
    public var dataHash: String?
    public var validationDataHash: String?
    /// `--tokenizer` as given (char | word | bpe, or an absolute path) and the SHA-256 of the
    /// tokenizer it made: a deleted tokenizer file is made again from these, or the resume refused.
    public var tokenizer: String?
    public var tokenizerHash: String?

    public init(command: String) {
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case command, data, validationData = "val-data", allowSpecial = "allow-special", vocabularySize = "vocab-size"
        case keepBest = "keep-best", log, teacher, temperature, alpha, threads
        case dataHash = "data-sha256", validationDataHash = "val-data-sha256", tokenizer, tokenizerHash = "tokenizer-sha256"
        case freezeEmbeddings = "freeze-embeddings", freezeLayers = "freeze-layers", trainHeadOnly = "train-head-only"
        case loraBase = "lora-base", ranks, shardOptimizer = "shard-optimizer"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decodeIfPresent(String.self, forKey: .command) ?? "train"
        data = try container.decodeIfPresent(String.self, forKey: .data)
        validationData = try container.decodeIfPresent(String.self, forKey: .validationData)
        allowSpecial = try container.decodeIfPresent(Bool.self, forKey: .allowSpecial) ?? false
        vocabularySize = try container.decodeIfPresent(Int.self, forKey: .vocabularySize)
        keepBest = try container.decodeIfPresent(Bool.self, forKey: .keepBest) ?? false
        log = try container.decodeIfPresent(String.self, forKey: .log)
        teacher = try container.decodeIfPresent(String.self, forKey: .teacher)
        temperature = try container.decodeIfPresent(Float.self, forKey: .temperature)
        alpha = try container.decodeIfPresent(Float.self, forKey: .alpha)
        threads = try container.decodeIfPresent(Int.self, forKey: .threads)
        dataHash = try container.decodeIfPresent(String.self, forKey: .dataHash)
        validationDataHash = try container.decodeIfPresent(String.self, forKey: .validationDataHash)
        tokenizer = try container.decodeIfPresent(String.self, forKey: .tokenizer)
        tokenizerHash = try container.decodeIfPresent(String.self, forKey: .tokenizerHash)
        loraBase = try container.decodeIfPresent(String.self, forKey: .loraBase)
        ranks = try container.decodeIfPresent(Int.self, forKey: .ranks)
        shardOptimizer = try container.decodeIfPresent(Bool.self, forKey: .shardOptimizer) ?? false
        freezing = Freezing(
            embeddings: try container.decodeIfPresent(Bool.self, forKey: .freezeEmbeddings) ?? false,
            layers: try container.decodeIfPresent(Int.self, forKey: .freezeLayers) ?? 0,
            headOnly: try container.decodeIfPresent(Bool.self, forKey: .trainHeadOnly) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(command, forKey: .command)
        try container.encodeIfPresent(data, forKey: .data)
        try container.encodeIfPresent(validationData, forKey: .validationData)
        try container.encode(allowSpecial, forKey: .allowSpecial)
        try container.encodeIfPresent(vocabularySize, forKey: .vocabularySize)
        try container.encode(keepBest, forKey: .keepBest)
        try container.encodeIfPresent(log, forKey: .log)
        try container.encodeIfPresent(teacher, forKey: .teacher)
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(alpha, forKey: .alpha)
        try container.encodeIfPresent(threads, forKey: .threads)
        try container.encodeIfPresent(dataHash, forKey: .dataHash)
        try container.encodeIfPresent(validationDataHash, forKey: .validationDataHash)
        try container.encodeIfPresent(tokenizer, forKey: .tokenizer)
        try container.encodeIfPresent(tokenizerHash, forKey: .tokenizerHash)
        try container.encodeIfPresent(loraBase, forKey: .loraBase)
        try container.encodeIfPresent(ranks, forKey: .ranks)
        if shardOptimizer { try container.encode(shardOptimizer, forKey: .shardOptimizer) }
        if command == "finetune" {
            try container.encode(freezing.embeddings, forKey: .freezeEmbeddings)
            try container.encode(freezing.layers, forKey: .freezeLayers)
            try container.encode(freezing.headOnly, forKey: .trainHeadOnly)
        }
    }
}

/// Which parameters fine-tuning leaves alone, decided by the parameter layout's groups.
public struct Freezing: Equatable, Sendable {
    /// The token and position embeddings (with tied embeddings, the unembedding too).
    public var embeddings = false
    /// The first `layers` blocks.
    public var layers = 0
    /// Everything but the final LayerNorm and the unembedding.
    public var headOnly = false

    public init(embeddings: Bool = false, layers: Int = 0, headOnly: Bool = false) {
        (self.embeddings, self.layers, self.headOnly) = (embeddings, layers, headOnly)
    }

    /// Rejects a negative count, or (given the model's) more blocks than the model has.
    public func validate(layerCount: Int? = nil) throws {
        let check = Validator(owner: "Freezing")
        try check.require(layers >= 0, "layers", "must be non-negative", layers)
        if let layerCount {
            try check.require(layers <= layerCount, "layers", "must be at most the model's \(layerCount) blocks", layers)
        }
    }

    /// Whether `tensor` is trained.
    public func isTrainable(_ tensor: ParameterTensor, tiedEmbeddings: Bool) -> Bool {
        let isHead = tensor.group == .finalNorm || tensor.group == .unembedding
            || (tiedEmbeddings && tensor.group == .tokenEmbedding)
        if headOnly { return isHead }
        if embeddings && (tensor.group == .tokenEmbedding || tensor.group == .positionEmbedding) { return false }
        if case .block(let layer) = tensor.group, layer < layers { return false }
        return true
    }
}
