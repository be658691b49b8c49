import Foundation
import GPTModel
import GPTTensor

/// A training configuration as JSON keyed by flag name: what `--config FILE` reads and what a
/// checkpoint's `training.json` keeps. A file need not name every key: the ones it leaves out keep
/// the value of the configuration it is read over (defaults < preset < file).
extension TrainingConfiguration {
    static let baseKey = CodingUserInfoKey(rawValue: "swift-gpt.training-configuration.base")!

    public init(from decoder: any Decoder) throws {
        self = decoder.userInfo[Self.baseKey] as? TrainingConfiguration ?? TrainingConfiguration()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func take<Value: Decodable>(_ key: CodingKeys, _ field: inout Value) throws {
            if let value = try container.decodeIfPresent(Value.self, forKey: key) { field = value }
        }
        try take(.layerCount, &layerCount)
        try take(.headCount, &headCount)
        try take(.embeddingSize, &embeddingSize)
        try take(.contextLength, &contextLength)
        try take(.dropout, &dropout)
        try take(.usesBias, &usesBias)
        try take(.position, &position)
        try take(.normalization, &normalization)
        try take(.activation, &activation)
        try take(.tiesEmbeddings, &tiesEmbeddings)
        try take(.batchSize, &batchSize)
        try take(.maxIterations, &maxIterations)
        try take(.learningRate, &learningRate)
        try take(.minLearningRate, &minLearningRate)
        try take(.warmupIterations, &warmupIterations)
        try take(.decayIterations, &decayIterations)
        try take(.weightDecay, &weightDecay)
        try take(.beta1, &beta1)
        try take(.beta2, &beta2)
        try take(.gradientClip, &gradientClip)
        try take(.evalInterval, &evalInterval)
        try take(.evalIterations, &evalIterations)
        try take(.seed, &seed)
        try take(.optimizer, &optimizer)
        try take(.momentum, &momentum)
        try take(.nesterov, &nesterov)
        try take(.schedule, &schedule)
        try take(.decayFraction, &decayFraction)
        try take(.gradientAccumulation, &gradientAccumulation)
        try take(.checkpointInterval, &checkpointInterval)
        try take(.precision, &precision)
    }

    /// Reads a JSON object of settings over `base`; `source` names the file in errors. Unknown keys and
    /// values of the wrong kind are errors that name the key; ranges are checked by `validate()`.
    public static func decode(_ data: Data, over base: TrainingConfiguration, source: String) throws -> TrainingConfiguration {
        guard JSONInput.isShallow(data), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError("\(source) is not a JSON object of settings keyed by flag name")
        }
        for key in object.keys.sorted() where CodingKeys(rawValue: key) == nil {
            throw TrainingError(
                "\(source): unknown key \"\(key)\"; known keys: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let decoder = JSONDecoder()
        decoder.userInfo[baseKey] = base
        if let configuration = try? decoder.decode(TrainingConfiguration.self, from: data) { return configuration }
        // Name the first key whose value does not decode (the decoder's own error need not say which).
        for key in object.keys.sorted() {
            let single = try JSONSerialization.data(withJSONObject: [key: object[key]!], options: [.fragmentsAllowed])
            if (try? decoder.decode(TrainingConfiguration.self, from: single)) == nil {
                throw TrainingError("\(source): \"\(key)\" must be \(expectation(of: key)) (got \(object[key]!))")
            }
        }
        throw TrainingError("\(source) could not be read as settings")
    }

    /// This configuration as a settings file (every key).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// What a key's value must be, for messages.
    static func expectation(of key: String) -> String {
        func choices<T: RawRepresentable & CaseIterable>(_: T.Type) -> String where T.RawValue == String {
            T.allCases.map(\.rawValue).joined(separator: "|")
        }
        switch CodingKeys(rawValue: key) {
        case .position: return choices(PositionEncoding.self)
        case .normalization: return choices(Normalization.self)
        case .activation: return choices(Activation.self)
        case .optimizer: return choices(OptimizerKind.self)
        case .schedule: return choices(ScheduleKind.self)
        case .precision: return choices(Precision.self)
        case .usesBias, .tiesEmbeddings, .nesterov: return "true or false"
        case .seed: return "a non-negative integer"
        case .dropout, .learningRate, .minLearningRate, .weightDecay, .beta1, .beta2, .gradientClip, .momentum,
            .decayFraction:
            return "a number"
        default: return "an integer"
        }
    }
}
