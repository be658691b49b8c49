import Foundation
import GPTTensor
import GPTTestSupport
import Testing

/// A batch-invariant context gives every input row the same bits whatever other rows share the
/// product — alone, among 2, 7 or 16 — for dense weights in both layouts and every quantized type,
/// at every level this CPU runs, and its results match the exact products.
@Suite struct BatchInvariantTests {
    /// Every row of `rows` inputs through `apply`, and each row again alone.
    static func rowsTogetherAndAlone(
        inputSize: Int, outputSize: Int, rows: Int, level: KernelLevel, seed: UInt64,
        apply: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int, KernelContext) -> Void
    ) -> (together: [Float], alone: [Float], input: [Float]) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level, batchInvariant: true)
        let input = randomValues(rows * inputSize, seed: seed)
        var together = [Float](repeating: .nan, count: rows * outputSize)
        var alone = [Float](repeating: .nan, count: rows * outputSize)
        input.withUnsafeBufferPointer { x in
            apply(&together, x.baseAddress!, rows, context)
            alone.withUnsafeMutableBufferPointer { y in
                for row in 0..<rows { apply(y.baseAddress! + row * outputSize, x.baseAddress! + row * inputSize, 1, context) }
            }
        }
        return (together, alone, input)
    }

    @Test(arguments: [false, true]) func denseRowsAreTheSameBitsAloneOrTogether(outputMajor: Bool) {
        // Odd sizes: register tiles, their tails and the thread split all take part.
        let (inputSize, outputSize) = (77, 203)
        let weights = randomValues(inputSize * outputSize, scale: 0.3, seed: 1)
        let bias = randomValues(outputSize, scale: 0.1, seed: 2)
        for level in KernelLevel.supported {
            for rows in [2, 7, 16] {
                let (together, alone, input) = weights.withUnsafeBufferPointer { w in
                    let matrix = DenseWeightMatrix(
                        pointer: w.baseAddress!, inputSize: inputSize, outputSize: outputSize, outputMajor: outputMajor)
                    return Self.rowsTogetherAndAlone(
                        inputSize: inputSize, outputSize: outputSize, rows: rows, level: level, seed: UInt64(rows)
                    ) { output, input, count, context in
                        matrix.apply(output: output, input: input, bias: bias, rows: count, context: context)
                    }
                }
                #expect(together == alone, "\(level) rows \(rows) output-major \(outputMajor)")
                for row in 0..<rows {
                    for column in 0..<outputSize {
                        var exact = Double(bias[column])
                        for k in 0..<inputSize {
                            let w = outputMajor ? weights[column * inputSize + k] : weights[k * outputSize + column]
                            exact += Double(input[row * inputSize + k]) * Double(w)
                        }
                        #expect(abs(Double(together[row * outputSize + column]) - exact) < 1e-4, "[\(row), \(column)]")
                    }
                }
            }
        }
    }

    @Test(arguments: QuantizedWeightMatrixTests.types) func quantizedRowsAreTheSameBitsAloneOrTogether(type: WeightType) {
        let (inputSize, outputSize) = (type.isKQuant ? 256 : 96, 150)
        let bytes = type.quantize(randomValues(inputSize * outputSize, scale: 0.5, seed: 3))
        for level in KernelLevel.supported {
            for rows in [3, 16] {
                let (together, alone, _) = bytes.withUnsafeBytes { raw in
                    let matrix = QuantizedWeightMatrix(
                        type: type, bytes: raw.baseAddress!, inputSize: inputSize, outputSize: outputSize, owner: nil)
                    return Self.rowsTogetherAndAlone(
                        inputSize: inputSize, outputSize: outputSize, rows: rows, level: level, seed: 7
                    ) { output, input, count, context in
                        matrix.apply(output: output, input: input, bias: nil, rows: count, context: context)
                    }
                }
                #expect(together == alone, "\(type) \(level) rows \(rows)")
            }
        }
    }
}
