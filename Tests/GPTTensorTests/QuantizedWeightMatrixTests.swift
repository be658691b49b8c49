import Foundation
import GPTTensor
import GPTTestSupport
import Testing

/// Every product over quantized and half-precision weights equals the same product over the
/// dequantized weights in Float32, within what quantizing the activations to 8 bits costs: at every
/// instruction level this CPU runs, for odd row counts, one input row (decode), a few (row by row)
/// and many (tiles through the BLAS), with and without a bias.
@Suite struct QuantizedWeightMatrixTests {
    static let types: [WeightType] = [.q8_0, .q4_0, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K, .f16, .bf16]

    @Test(arguments: types) func productsMatchTheDequantizedReference(type: WeightType) throws {
        let (inputSize, outputSize) = (type.isKQuant ? 512 : 96, 37)
        let weights = randomValues(inputSize * outputSize, scale: 0.5, seed: 3)
        let bytes = type.quantize(weights)
        let dequantized = type.dequantize(bytes)
        let bias = randomValues(outputSize, scale: 0.1, seed: 4)
        for level in KernelLevel.supported {
            for rows in [1, 3, 9] {
                let input = randomValues(rows * inputSize, seed: UInt64(5 + rows))
                var output = [Float](repeating: .nan, count: rows * outputSize)
                bytes.withUnsafeBytes { raw in
                    let matrix = QuantizedWeightMatrix(
                        type: type, bytes: raw.baseAddress!, inputSize: inputSize, outputSize: outputSize, owner: nil)
                    let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
                    matrix.apply(output: &output, input: input, bias: bias, rows: rows, context: context)
                }
                for row in 0..<rows {
                    for column in 0..<outputSize {
                        var exact: Double = Double(bias[column])
                        var magnitude: Double = 0
                        for k in 0..<inputSize {
                            let product = Double(input[row * inputSize + k]) * Double(dequantized[column * inputSize + k])
                            exact += product
                            magnitude += abs(product)
                        }
                        // 8-bit activations: each within half a step of 1/127 of its block's largest value.
                        let tolerance = type.isInteger ? magnitude / 127 + 1e-4 : magnitude * 1e-5 + 1e-5
                        let got = Double(output[row * outputSize + column])
                        #expect(abs(got - exact) <= tolerance, "\(type) \(level) rows \(rows) [\(row), \(column)]: \(got) vs \(exact)")
                    }
                }
            }
        }
    }

    @Test(arguments: types) func copiesRowsAsDequantized(type: WeightType) throws {
        let (inputSize, outputSize) = (type.isKQuant ? 256 : 64, 5)
        let bytes = type.quantize(randomValues(inputSize * outputSize, seed: 9))
        let dequantized = type.dequantize(bytes)
        var rows = [Float](repeating: 0, count: 2 * inputSize)
        let ids: [Int32] = [4, 1]
        bytes.withUnsafeBytes { raw in
            QuantizedWeightMatrix(type: type, bytes: raw.baseAddress!, inputSize: inputSize, outputSize: outputSize, owner: nil)
                .copyWeights(ofOutputs: ids, count: 2, into: &rows)
        }
        #expect(Array(rows[0..<inputSize]) == Array(dequantized[(4 * inputSize)..<(5 * inputSize)]))
        #expect(Array(rows[inputSize...]) == Array(dequantized[inputSize..<(2 * inputSize)]))
    }

    /// Level-independent rounding of the scalar conversions: float16 and bfloat16 round to nearest
    /// even, overflow to infinity, keep subnormals, and NaN stays NaN.
    @Test func halfAndBfloatConversionsRoundToNearestEven() {
        let values: [Float] = [0, -0.0, 1, 65504, 65519, 65520, 1e-7, 5.96e-8, 2.98e-8, 2.99e-8, 1 + 1.0 / 2048, 1 + 3.0 / 2048, .infinity, -.infinity]
        let half = WeightType.f16.dequantize(WeightType.f16.quantize(values))
        #expect(half.map(\.bitPattern) == values.map { Float(Float16($0)).bitPattern })
        let bfloat = WeightType.bf16.dequantize(WeightType.bf16.quantize([1 + 1.0 / 256, 1 + 3.0 / 256, 3.4e38, -2]))
        #expect(bfloat == [1, 1 + 4.0 / 256, Float(bitPattern: 0x7f80_0000), -2])
        #expect(WeightType.f16.dequantize(WeightType.f16.quantize([.nan]))[0].isNaN)
        #expect(WeightType.bf16.dequantize(WeightType.bf16.quantize([.nan]))[0].isNaN)
    }
}
