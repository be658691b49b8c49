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

    @Test(arguments: types) func dequantizesAsTheReferenceDoes(type: WeightType) throws {
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
