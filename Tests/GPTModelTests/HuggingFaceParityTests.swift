import Foundation
import GPTFormats
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// The model against Hugging Face transformers on the same weights and batch
/// (fixture written by Scripts/make_hf_fixture.py).
@Suite struct HuggingFaceParityTests {
    let fixture: HuggingFaceFixture
    let expected: SafetensorsFile

    init() throws {
        fixture = try HuggingFaceFixture()
        expected = try SafetensorsFile(contentsOf: fixture.directory.appendingPathComponent("expected.safetensors"))
    }

    func forwardBackward(_ session: TrainingSession) throws -> Float {
        let loss = try session.loss(
            tokens: fixture.inputIds, targets: fixture.targets, batch: fixture.batch, length: fixture.length,
            training: true)
        session.zeroGradients()
        try session.backward()
        return loss
    }

    @Test func logitsLossAndEveryGradientMatchTransformers() throws {
        // save_pretrained's file: `transformer.`-prefixed names, no lm_head (tied).
        let model = try ModelDirectory.loadModel(fixture.directory)
        #expect(model.configuration.isGPT2Compatible)
        let session = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let loss = try forwardBackward(session)
        #expect(abs(loss - fixture.loss) < 1e-5)
        let V = model.configuration.vocabularySize
        var logits: [Float] = []
        for b in 0..<fixture.batch {
            for t in 0..<fixture.length { logits += Array(session.logits(batchIndex: b, position: t)) }
        }
        expectClose(logits, try expected.floats("logits"), absolute: 1e-4, relative: 1e-4, "logits")
        #expect(logits.count == fixture.batch * fixture.length * V)
        let gradients = session.gradients.array
        for tensor in model.layout.tensors {
            let reference = try expected.floats("grad." + tensor.name)
            let ours = Array(gradients[tensor.offset..<(tensor.offset + tensor.count)])
            expectClose(ours, reference, absolute: 2e-6, relative: 1e-3, "grad.\(tensor.name)")
        }
    }

    @Test func plainAndPrefixedNamesLoadTheSameWeights() throws {
        let prefixed = try ModelDirectory.loadModel(fixture.directory)
        let plain = try GPT(configuration: prefixed.configuration)
        try ModelDirectory.loadWeights(into: plain, from: fixture.directory.appendingPathComponent("plain.safetensors"))
        #expect(plain.parameters.array == prefixed.parameters.array)
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let model = try ModelDirectory.loadModel(fixture.directory)
        let one = TrainingSession(model: model, parallelism: Parallelism(threads: 1))
        let two = TrainingSession(model: model, parallelism: Parallelism(threads: 2))
        let lossOne = try forwardBackward(one)
        let lossTwo = try forwardBackward(two)
        #expect(abs(lossOne - lossTwo) < 1e-6)
        expectClose(one.gradients.array, two.gradients.array, absolute: 1e-7, relative: 1e-4, "gradients")
    }
}
