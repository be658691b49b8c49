import Foundation
import GPTModel
import GPTTensor
import GPTTestSupport
import Testing

/// Mixed-precision passes (bf16 products, fp32 everything else) against the fp32 passes on the
/// transformers fixture model.
@Suite(.enabled(if: Precision.isBFloat16Available(at: .best), "this CPU has no AVX512-BF16"))
struct BFloat16TrainingTests {
    let fixture: HuggingFaceFixture

    init() throws {
        fixture = try HuggingFaceFixture()
    }

    func lossAndGradients(_ model: GPT, precision: Precision) throws -> (Float, [Float]) {
        let session = TrainingSession(
            model: model, context: KernelContext(parallelism: Parallelism(threads: 2)), precision: precision)
        let loss = try session.loss(
            tokens: fixture.inputIds, targets: fixture.targets, batch: fixture.batch, length: fixture.length, training: true)
        session.zeroGradients()
        try session.backward()
        return (loss, session.gradients.array)
    }

    /// bf16 keeps 8 significant bits (relative rounding 2⁻⁹ ≈ 0.2%): each tensor's gradient is within
    /// 2% of the fp32 gradient's norm, and the loss within 0.5%.
    @Test func gradientsMatchFP32WithinBF16Tolerance() throws {
        let model = try ModelDirectory.loadModel(fixture.directory)
        let (fullLoss, full) = try lossAndGradients(model, precision: .fp32)
        let (halfLoss, half) = try lossAndGradients(model, precision: .bf16)
        #expect(abs(halfLoss - fullLoss) < 5e-3 * fullLoss, "loss \(halfLoss) vs fp32 \(fullLoss)")
        #expect(half != full, "the bf16 pass must round something")
        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            var difference = 0.0, norm = 0.0
            for index in range {
                difference += Double(half[index] - full[index]) * Double(half[index] - full[index])
                norm += Double(full[index]) * Double(full[index])
            }
            let relative = (difference / max(norm, 1e-30)).squareRoot()
            #expect(relative < 0.02, "grad.\(tensor.name): relative difference \(relative)")
        }
    }

    @Test func optimizerStepsRepackTheWeightsAndEvaluationStaysFP32() throws {
        let model = try ModelDirectory.loadModel(fixture.directory)
        let session = TrainingSession(
            model: model, context: KernelContext(parallelism: Parallelism(threads: 2)), precision: .bf16)
        let reference = TrainingSession(model: model, context: KernelContext(parallelism: Parallelism(threads: 2)))
        func loss(_ session: TrainingSession, training: Bool) throws -> Float {
            try session.loss(
                tokens: fixture.inputIds, targets: fixture.targets, batch: fixture.batch, length: fixture.length,
                training: training)
        }
        // Without training the passes multiply in fp32: the same bits as an fp32 session.
        #expect(try loss(session, training: false) == (try loss(reference, training: false)))
        let before = try loss(session, training: true)
        // Change one packed matrix (the fp32 parts of the pass stay as they were).
        let offset = model.layout.blocks[0].matrix(.mlpUp).weight
        let shape = model.configuration.shape(of: .mlpUp)
        for index in offset..<(offset + shape.input * shape.output) { model.parameters[index] *= 0.5 }
        // Not told: the packed weights are the old ones.
        #expect(try loss(session, training: true) == before)
        session.weightsChanged()
        let after = try loss(session, training: true)
        #expect(after != before)
        #expect(abs(after - (try loss(reference, training: true))) < 5e-3 * after)
        #expect(session.halfPrecisionWeightBytes > 0)
    }
}
