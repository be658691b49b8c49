import GPTModel
import GPTTensor

/// Knowledge distillation: a teacher model whose softened predictions the student also learns.
public struct Distillation {
    public let teacher: GPT
    public let temperature: Float
    /// Weight of the distillation term; 1 − alpha weighs the plain cross-entropy.
    public let alpha: Float

    public init(teacher: GPT, temperature: Float, alpha: Float) throws {
        try Self.validate(temperature: temperature, alpha: alpha)
        self.teacher = teacher
        self.temperature = temperature
        self.alpha = alpha
    }

    /// Rejects a temperature or weight no distillation can use.
    public static func validate(temperature: Float, alpha: Float) throws {
        let check = Validator(owner: "Distillation")
        try check.require(temperature > 0 && temperature.isFinite, "temperature", "must be positive", temperature)
        try check.require(alpha >= 0 && alpha <= 1, "alpha", "must be in [0, 1]", alpha)
    }
}
