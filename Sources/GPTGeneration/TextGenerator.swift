import GPTModel
import GPTTensor

/// Predict, sample, repeat: the baseline generation loop (a full forward pass over the
/// last `contextLength` tokens per new token; the KV-cached engine replaces it later).
public final class TextGenerator {
    public let model: GPTModel
    public let context: KernelContext
    private let scratch: FloatBuffer

    public init(model: GPTModel, parallelism: Parallelism) {
        self.model = model
        context = KernelContext(parallelism: parallelism)
        scratch = FloatBuffer(count: model.configuration.vocabularySize)
    }

    /// Generates up to `maxTokens` tokens after `prompt`, calling `onToken` with each
    /// (return false to stop early). A prompt longer than the context keeps its last tokens.
    public func generate(
        prompt: [Int], maxTokens: Int, sampler: Sampler, generator: inout Generator, onToken: (Int) -> Bool
    ) throws {
        guard !prompt.isEmpty else { throw ModelError("generation needs at least one prompt token") }
        let window = model.configuration.contextLength
        var tokens = prompt.map(Int32.init)
        for _ in 0..<maxTokens {
            let visible = Array(tokens.suffix(window))
            try model.forward(
                tokens: visible, batch: 1, length: visible.count, lastPositionOnly: true, context: context)
            let next = sampler.sample(
                model.logits(position: visible.count - 1), scratch: scratch.pointer, generator: &generator)
            tokens.append(Int32(next))
            if !onToken(next) { break }
        }
    }
}
