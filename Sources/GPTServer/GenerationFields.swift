import GPTGeneration

/// The fields `/v1/completions` and `/v1/chat/completions` share: sampling, stops, choices, seed and
/// streaming, read and range-checked as OpenAI documents them, plus the engine's extra samplers as
/// extension fields (`top_k`, `min_p`, `typical_p`, `repetition_penalty`, `dynatemp_range`,
/// `dynatemp_exponent`, and llama-server's `ignore_eos` to generate past the end-of-text token).
struct GenerationFields {
    var sampling = SamplingParameters()
    var stopSequences: [String] = []
    var choices = 1
    var seed: UInt64?
    var stream = false
    var includeUsage = false
    var ignoreEndOfText = false

    init(_ fields: JSONFields, vocabularySize: Int, maxChoices: Int) throws {
        if let value = try fields.number("temperature", in: 0...2) { sampling.temperature = Float(value) }
        if let value = try fields.number("top_p", in: 0...1) {
            guard value > 0 else { throw fields.outOfRange("top_p", "must be above 0 and at most 1, not 0") }
            sampling.topP = Float(value)
        }
        if let value = try fields.number("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(value) }
        if let value = try fields.number("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(value) }
        if let value = try fields.integer("top_k", in: 0...1_000_000) { sampling.topK = value }
        if let value = try fields.number("min_p", in: 0...1) {
            guard value < 1 else { throw fields.outOfRange("min_p", "must be at least 0 and below 1") }
            sampling.minP = Float(value)
        }
        if let value = try fields.number("typical_p", in: 0...1) {
            guard value > 0 else { throw fields.outOfRange("typical_p", "must be above 0 and at most 1, not 0") }
            sampling.typicalP = Float(value)
        }
        if let value = try fields.number("repetition_penalty", in: 0...10) {
            guard value > 0 else { throw fields.outOfRange("repetition_penalty", "must be above 0") }
            sampling.repetitionPenalty = Float(value)
        }
        if let value = try fields.number("dynatemp_range", in: 0...2) { sampling.dynamicTemperatureRange = Float(value) }
        if let value = try fields.number("dynatemp_exponent", in: 0...100) {
            guard value > 0 else { throw fields.outOfRange("dynatemp_exponent", "must be above 0") }
            sampling.dynamicTemperatureExponent = Float(value)
        }
        if let bias = try fields.object("logit_bias") {
            for (key, value) in bias.values.sorted(by: { $0.key < $1.key }) {
                guard let token = Int(key), token >= 0, token < vocabularySize else {
                    throw APIError.badRequest(
                        "'logit_bias' names token '\(key)'; keys must be token ids 0…\(vocabularySize - 1)", param: "logit_bias")
                }
                guard case .number(let amount) = value, (-100...100).contains(amount) else {
                    throw APIError.badRequest("'logit_bias.\(key)' must be a number between -100 and 100", param: "logit_bias")
                }
                // OpenAI: -100 bans a token, 100 forces it.
                sampling.logitBias[token] = amount <= -100 ? -.infinity : amount >= 100 ? .infinity : Float(amount)
            }
        }
        if let stops = try fields.strings("stop") {
            guard stops.count <= 4 else { throw fields.outOfRange("stop", "may hold at most 4 sequences, not \(stops.count)") }
            guard !stops.contains("") else { throw fields.outOfRange("stop", "must not hold an empty string") }
            stopSequences = stops
        }
        if let n = try fields.integer("n", in: 1...128) {
            guard n <= maxChoices else {
                throw fields.outOfRange("n", "asks for \(n) choices; this server decodes at most \(maxChoices) sequences at once (--parallel)")
            }
            choices = n
        }
        if let value = try fields.integer("seed") { seed = UInt64(bitPattern: Int64(value)) }
        stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") {
            guard stream else { throw APIError.badRequest("'stream_options' is only allowed with 'stream': true", param: "stream_options") }
            includeUsage = try options.bool("include_usage") ?? false
        }
        ignoreEndOfText = try fields.bool("ignore_eos") ?? false
        _ = try fields.string("user")
        _ = try fields.string("model")
    }

    /// The scheduler's request for one prompt.
    func request(prompt: [Int], maxTokens: Int, timeout: Double) -> CompletionRequest {
        var request = CompletionRequest(prompt: prompt)
        request.maxTokens = maxTokens
        request.sampling = sampling
        request.stopSequences = stopSequences
        request.choices = choices
        request.seed = seed ?? UInt64.random(in: 0...UInt64.max)
        request.timeout = timeout
        request.ignoreEndOfText = ignoreEndOfText
        return request
    }
}
