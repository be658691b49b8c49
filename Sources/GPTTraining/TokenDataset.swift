import GPTFormats
import GPTTensor

/// A token stream split into training and validation parts, sampled into batches
/// of random windows (x = ids[i ..< i+T], y = ids[i+1 ... i+T]) as nanoGPT's `get_batch`.
public struct TokenDataset: Sendable {
    public let training: TokenSequence
    public let validation: TokenSequence

    public enum Split: String, Sendable { case training = "train", validation = "val" }

    /// The first 90% of `tokens` for training and the rest for validation (nanoGPT's split).
    public init(tokens: TokenSequence, validationFraction: Double = 0.1) {
        let cut = Int(Double(tokens.count) * (1 - validationFraction))
        training = tokens.slice(0..<cut)
        validation = tokens.slice(cut..<tokens.count)
    }

    public init(tokens: [Int32], validationFraction: Double = 0.1) {
        self.init(tokens: TokenSequence(tokens), validationFraction: validationFraction)
    }

    public init(training: TokenSequence, validation: TokenSequence) {
        self.training = training
        self.validation = validation
    }

    public init(training: [Int32], validation: [Int32]) {
        self.init(training: TokenSequence(training), validation: TokenSequence(validation))
    }

    /// Checks that both splits hold at least one window of `contextLength` + 1 tokens.
    public func validate(contextLength: Int) throws {
        for (name, tokens) in [("training", training), ("validation", validation)] where tokens.count <= contextLength {
            throw TrainingError(
                "the \(name) text has \(tokens.count) tokens, fewer than the context length \(contextLength) + 1; use more text or a smaller --context-length")
        }
        // One id throughout (a word tokenizer that knows none of the words maps all to <unk>):
        // the loss would fall to 0 with nothing learnt.
        let first = training[0]
        if (0..<min(training.count, 1 << 24)).allSatisfy({ training[$0] == first }) {
            throw TrainingError(
                "the training text encodes to the single token id \(first) throughout; nothing can be learnt — check the tokenizer (a word vocabulary that covers the text, or --tokenizer char)")
        }
    }

    /// Fills `inputs` and `targets` (each batch × length) with random windows of `split`.
    public func sampleBatch(
        _ split: Split, batch: Int, length: Int, inputs: inout [Int32], targets: inout [Int32],
        generator: inout RandomGenerator
    ) {
        let tokens = split == .training ? training : validation
        inputs.removeAll(keepingCapacity: true)
        targets.removeAll(keepingCapacity: true)
        for _ in 0..<batch {
            let start = generator.nextInt(below: tokens.count - length)
            tokens.append(start..<(start + length), to: &inputs)
            tokens.append((start + 1)..<(start + length + 1), to: &targets)
        }
    }
}

/// A problem with a training run, phrased for the user.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
