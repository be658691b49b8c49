import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Whole-model finite-difference checks on a tiny configuration, for every architecture switch.
@Suite struct GradientCheckTests {
    static let switches: [(String, GPTConfiguration)] = {
        func make(_ edit: (inout GPTConfiguration) -> Void) -> GPTConfiguration {
            var configuration = GPTConfiguration(vocabularySize: 11, contextLength: 6, embeddingSize: 8, layerCount: 2, headCount: 2)
            edit(&configuration)
            return configuration
        }
        return [
            ("gpt2 defaults", make { _ in }),
            ("no bias", make { $0.usesBias = false }),
            ("sinusoidal positions", make { $0.position = .sinusoidal }),
            ("post-norm", make { $0.normalization = .post }),
            ("relu", make { $0.activation = .relu }),
            ("untied unembedding", make { $0.tiesEmbeddings = false }),
            ("mlp width 12 (n_inner)", make { $0.mlpSize = 12 }),
            ("dropout", make { $0.embeddingDropout = 0.2; $0.attentionDropout = 0.2; $0.residualDropout = 0.2 }),
        ]
    }()

    @Test(arguments: 0..<switches.count)
    func wholeModelGradientMatchesFiniteDifferences(index: Int) throws {
        let (label, configuration) = Self.switches[index]
        var generator = RandomGenerator(seed: 7)
        let model = try GPT(configuration: configuration, generator: &generator)
        // Larger weights and non-trivial biases and gains: gradients well above Float32 noise.
        for tensor in model.layout.tensors {
            for i in 0..<tensor.count {
                if tensor.shape.count == 2 { model.parameters[tensor.offset + i] *= 20 }
                else { model.parameters[tensor.offset + i] += (generator.nextFloat() - 0.5) * 0.6 }
            }
        }
        let (B, T) = (2, 5)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 11)) }
        let targets = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 11)) }
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let seed: UInt64 = 99
        func loss() -> Double {
            Double(try! session.loss(tokens: tokens, targets: targets, batch: B, length: T, training: true, dropoutSeed: seed))
        }
        _ = loss()
        session.zeroGradients()
        try session.backward()
        let analyticAll = session.gradients.array
        let isReLU = configuration.activation == .relu
        for tensor in model.layout.tensors {
            let indices = Array(stride(from: 0, to: tensor.count, by: max(1, tensor.count / 12)))
            let numerical = numericalGradient(
                of: loss, perturbing: model.parameters.pointer + tensor.offset, indices: indices, step: isReLU ? 1e-3 : 1e-2,
                skipKinks: isReLU)
            let analytic = indices.map { analyticAll[tensor.offset + $0] }
            // ReLU's kinks make finite differences noisy where a step crosses zero for some
            // hidden unit; its exact derivative is checked kernel by kernel in GPTTensorTests.
            expectGradientMatches(
                analytic: analytic, numerical: numerical, tolerance: isReLU ? 5e-2 : 2e-2, "\(label) \(tensor.name)")
        }
    }
}
