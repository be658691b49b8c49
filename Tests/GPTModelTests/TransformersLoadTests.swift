import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// The converse of the parity tests: models saved here load in Hugging Face transformers (GPT2LMHeadModel,
/// strict about missing and unexpected tensors) and give the loss we compute. Runs
/// Scripts/check_transformers_load.py with the reference environment that
/// `Scripts/install-dependencies.sh --with-test-tools` installs in .venv-reference/.
@Suite struct TransformersLoadTests {
    static var python: URL { referencePython }

    static let cases: [(String, @Sendable (inout GPTConfiguration) -> Void)] = [
        ("gpt2", { _ in }),
        ("no biases (written as zeros)", { $0.usesBias = false }),
        ("untied unembedding", { $0.tiesEmbeddings = false }),
        ("n_inner 40", { $0.mlpSize = 40 }),
    ]

    @Test(arguments: 0..<cases.count)
    func savedModelsLoadInTransformersWithOurLoss(index: Int) throws {
        let (label, edit) = Self.cases[index]
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python.path),
            "no reference environment at \(Self.python.path); run Scripts/install-dependencies.sh --with-test-tools")
        var configuration = GPTConfiguration(vocabularySize: 23, contextLength: 12, embeddingSize: 16, layerCount: 2, headCount: 2)
        edit(&configuration)
        var generator = RandomGenerator(seed: UInt64(40 + index))
        let model = try GPT(configuration: configuration, generator: &generator)
        // Non-trivial LayerNorm gains and biases, so that zero or swapped tensors would show.
        for tensor in model.layout.tensors where tensor.shape.count == 1 {
            for i in 0..<tensor.count { model.parameters[tensor.offset + i] += (generator.nextFloat() - 0.5) * 0.4 }
        }
        let directory = temporaryDirectory("hf-load")
        try ModelDirectory.save(model, tokenizer: nil, to: directory)
        let (B, T) = (2, 12)
        let tokens = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 23)) }
        let targets = (0..<(B * T)).map { _ in Int32(generator.nextInt(below: 23)) }
        let ours = try TrainingSession(model: model, parallelism: Parallelism(threads: 1))
            .loss(tokens: tokens, targets: targets, batch: B, length: T)
        let inputs = directory.appendingPathComponent("tokens.json")
        let rows = { (values: [Int32]) in (0..<B).map { Array(values[($0 * T)..<(($0 + 1) * T)]) } }
        try JSONSerialization.data(withJSONObject: ["input_ids": rows(tokens), "targets": rows(targets)]).write(to: inputs)

        let (status, printed, complaints) = try runReferenceScript(
            "check_transformers_load.py", [directory.path, inputs.path],
            environment: ["HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"])
        try #require(status == 0, "\(label): transformers refused the model: \(complaints)")
        let result = try JSONSerialization.jsonObject(with: printed) as! [String: Double]
        #expect(abs(result["loss"]! - Double(ours)) < 1e-5 * max(1, Double(ours)), "\(label): transformers \(result["loss"]!) vs ours \(ours)")
    }
}
