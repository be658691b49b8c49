import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// The switches GPT-2 lacks (post-norm, sinusoidal positions, ReLU, untied unembedding, no biases,
/// n_inner) against an independent PyTorch model written from the papers (Scripts/make_variants_fixture.py):
/// logits, loss and every gradient, through the training passes and through cached inference.
@Suite struct ReferenceVariantsTests {
    static let names = ["post-sinusoidal", "relu-untied", "no-bias", "everything"]

    @Test(arguments: names)
    func logitsLossAndGradientsMatchTheReference(name: String) throws {
        let directory = projectRoot.appendingPathComponent("Tests/GPTModelTests/Fixtures/variants/\(name)")
        let model = try ModelDirectory.loadModel(directory)
        let expected = try SafetensorsFile(contentsOf: directory.appendingPathComponent("expected.safetensors"))
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("inputs.json"))) as! [String: [[Int]]]
        let tokens = inputs["input_ids"]!.flatMap { $0.map(Int32.init) }
        let targets = inputs["targets"]!.flatMap { $0.map(Int32.init) }
        let (B, T) = (inputs["input_ids"]!.count, inputs["input_ids"]![0].count)

        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let loss = try session.loss(tokens: tokens, targets: targets, batch: B, length: T, training: true)
        try session.backward()
        #expect(abs(loss - (try expected.floats("loss"))[0]) < 1e-5, "\(name) loss")
        let referenceLogits = try expected.floats("logits")
        expectClose(Array(session.allLogits), referenceLogits, absolute: 2e-5, relative: 1e-4, "\(name) logits")
        let gradients = session.gradients.array
        for tensor in model.layout.tensors {
            let ours = Array(gradients[tensor.offset..<(tensor.offset + tensor.count)])
            expectClose(ours, try expected.floats("grad." + tensor.name), absolute: 1e-5, relative: 1e-3, "\(name) grad.\(tensor.name)")
        }
        // The inference path scores the same.
        let inference = InferenceSession(model: model, parallelism: Parallelism(threads: 2))
        let logits = try inference.forward(tokens: tokens, count: T, cache: KVCache(configuration: model.configuration, batch: B), positions: .all)
        expectClose(Array(logits), referenceLogits, absolute: 2e-5, relative: 1e-4, "\(name) cached logits")
    }
}
