import Foundation
import GPTFormats
import GPTTensor
import GPTTestSupport
import Testing

/// ggml's block formats, bit for bit: the same Float32 matrix quantized by swift-gpt and by the
/// `gguf` package's reference quantizer (`Scripts/make_quant_fixture.py`, gguf 0.19.0) gives the
/// same bytes for every type, and dequantizes to the same floats.
@Suite struct QuantizationFixtureTests {
    let file: GGUFFile

    init() throws {
        file = try GGUFFile(contentsOf: projectRoot.appendingPathComponent("Tests/GPTFormatsTests/Fixtures/quants.gguf"))
    }

    static let types: [WeightType] = [.q8_0, .q4_0, .q5_0, .q5_1, .f16, .bf16]

    @Test(arguments: types) func quantizesAsTheReferenceDoes(type: WeightType) throws {
        let input = try file.floats("input")
        let reference = [UInt8](file.bytes(of: try #require(file.tensor(type.description))))
        let ours = type.quantize(input)
        #expect(ours.count == reference.count)
        let differing = zip(ours, reference).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.isEmpty, "\(type): \(differing.count) bytes differ, first at \(differing.first ?? -1)")
    }

    /// The K-quant layouts: random super-blocks read as the reference reads them.
    @Test(arguments: types + [.q4_K, .q5_K, .q6_K]) func dequantizesAsTheReferenceDoes(type: WeightType) throws {
        let bytes = [UInt8](file.bytes(of: try #require(file.tensor(type.description))))
        let reference = try file.floats(type.description + ".dequantized")
        let ours = type.dequantize(bytes)
        #expect(ours.map(\.bitPattern) == reference.map(\.bitPattern), "\(type)")
    }

    /// Quantize → dequantize stays within each type's step: half a grid step per element, plus what
    /// storing the scale (and Q5_1's minimum) in float16 costs — relative 2^-11, or 2^-25 absolute
    /// where the scale is a float16 subnormal (tiny weights).
    @Test(arguments: types) func roundTripErrorIsWithinOneStep(type: WeightType) throws {
        let input = try file.floats("input")
        let output = type.dequantize(type.quantize(input))
        for block in stride(from: 0, to: input.count, by: 32) {
            let values = input[block..<(block + 32)]
            let (low, high) = (values.min()!, values.max()!)
            let largest = max(abs(low), abs(high))
            let step: Float = switch type {
            case .q4_K, .q5_K, .q6_K: 0  // checked apart (quantizeKQuants…)
            case .q8_0: largest / 127
            case .q4_0: largest / 8
            case .q5_0: largest / 16
            case .q5_1: (high - low) / 31
            case .f16: largest / 1024
            case .bf16: largest / 128
            case .f32: 0
            }
            let scaleRounding = type.isInteger ? 128 * max(step / 2048, 3e-8) + largest / 2048 : 0
            for index in block..<(block + 32) {
                #expect(abs(output[index] - input[index]) <= step * 1.01 + scaleRounding + 1e-7, "\(type) element \(index)")
            }
        }
    }
}

/// The K-quants' own quantizer (the layouts are ggml's; the search is swift-gpt's): on weights shaped
/// like a trained model's, the error stays below what the 32-element types of about the same size give.
@Suite struct KQuantTests {
    @Test func kQuantsAreAtLeastAsAccurateAsTheirSimpleCounterparts() {
        var values = randomValues(256 * 64, scale: 0.02, seed: 21)
        for index in stride(from: 0, to: values.count, by: 97) { values[index] *= 8 }  // a few outliers
        func relativeError(_ type: WeightType) -> Double {
            let back = type.dequantize(type.quantize(values))
            let error = zip(values, back).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            let energy = values.reduce(0.0) { $0 + Double($1 * $1) }
            return (error / energy).squareRoot()
        }
        // Q4_K (4.5 bits) against Q4_0 (4.5), Q5_K (5.5) against Q5_1 (6), Q6_K (6.56) against Q8_0 at half the error budget.
        #expect(relativeError(.q4_K) < relativeError(.q4_0))
        #expect(relativeError(.q5_K) < relativeError(.q5_1))
        #expect(relativeError(.q6_K) < 4 * relativeError(.q8_0))
        #expect(relativeError(.q6_K) < relativeError(.q5_K) && relativeError(.q5_K) < relativeError(.q4_K))
    }

    @Test func constantAndZeroSuperBlocksSurvive() {
        for type in [WeightType.q4_K, .q5_K, .q6_K] {
            let values = [Float](repeating: 0, count: 256) + [Float](repeating: 0.5, count: 256) + [Float](repeating: -3, count: 256)
            let back = type.dequantize(type.quantize(values))
            for (value, restored) in zip(values, back) {
                #expect(abs(value - restored) <= abs(value) * 0.02 + 1e-6, "\(type): \(value) → \(restored)")
            }
        }
    }
}
