import GPTTensor
import GPTTestSupport
import Testing

/// The bf16 products (vdpbf16ps, fp32 sums) against fp32 products of the bf16-rounded inputs.
@Suite struct BFloat16Tests {
    static let available = Precision.isBFloat16Available(at: .best)

    @Test func roundingIsToNearestEvenAndKeepsSpecialValues() {
        let halfway = Float(bitPattern: 0x3F80_8000)  // 1 + 2⁻⁸: exactly between two bf16 values, rounds to even (1)
        let above = Float(bitPattern: 0x3F80_8001)
        let oddHalfway = Float(bitPattern: 0x3F81_8000)  // rounds up to the even 0x3F82
        let rounded = Kernels.bf16Rounded([1, halfway, above, oddHalfway, -2.5, .infinity, 0, .nan])
        #expect(rounded[0] == 1 && rounded[1] == 1)
        #expect(rounded[2].bitPattern == 0x3F81_0000)
        #expect(rounded[3].bitPattern == 0x3F82_0000)
        #expect(rounded[4] == -2.5 && rounded[5] == .infinity && rounded[6] == 0)
        #expect(rounded[7].isNaN)
    }

    @Test func belowAVX512BF16TheProductsFallBackToFP32WithANotice() {
        let (precision, notice) = Precision.bf16.resolved(at: .avx2)
        #expect(precision == .fp32)
        #expect(notice?.contains("AVX512-BF16") == true && notice?.contains("fp32") == true)
        #expect(Precision.fp32.resolved(at: .best) == (.fp32, nil))
        if Self.available { #expect(Precision.bf16.resolved(at: .best) == (.bf16, nil)) }
    }

    /// (rows, inner, columns): every product shape the presets' models use (batch × context rows) and odd sizes.
    static let shapes: [(Int, Int, Int)] = [
        (768, 128, 384), (768, 128, 128), (768, 128, 512), (768, 512, 128), (768, 128, 65), (128, 768, 384),
        (256, 768, 2304), (256, 3072, 768), (1, 1, 1), (3, 5, 7), (17, 33, 31), (9, 1030, 70), (40, 513, 97),
    ]

    @Test(.enabled(if: available, "this CPU has no AVX512-BF16"), arguments: shapes)
    func productsEqualFP32ProductsOfTheRoundedInputs(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var generator = RandomGenerator(seed: UInt64(m * 1_000_003 + k * 1_009 + n))
        let a = (0..<(m * k)).map { _ in generator.nextFloat() * 2 - 1 }
        let b = (0..<(k * n)).map { _ in generator.nextFloat() * 2 - 1 }
        let start = (0..<(m * n)).map { _ in generator.nextFloat() }
        let (ra, rb) = (Kernels.bf16Rounded(a), Kernels.bf16Rounded(b))
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for accumulate in [false, true] {
                    // The same values stored either way round.
                    let storedA = transposeA ? transposed(a, rows: m, columns: k) : a
                    let storedB = transposeB ? transposed(b, rows: k, columns: n) : b
                    let context = KernelContext(parallelism: Parallelism(threads: 2))
                    let packed = PackedBFloat16Matrix(inner: k, columns: n)
                    storedB.withUnsafeBufferPointer {
                        packed.pack(from: $0.baseAddress!, leading: transposeB ? k : n, transposed: transposeB, context: context)
                    }
                    var c = accumulate ? start : [Float](repeating: .nan, count: m * n)
                    storedA.withUnsafeBufferPointer { pa in
                        Kernels.bf16Multiply(
                            rows: m, columns: n, inner: k, pa.baseAddress!, leadingA: transposeA ? m : k, transposeA: transposeA,
                            packed, &c, leadingC: n, accumulate: accumulate, context: context)
                    }
                    var worst: Float = 0
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = accumulate ? Double(start[i * n + j]) : 0
                            var magnitude = abs(sum)
                            for p in 0..<k {
                                let term = Double(ra[i * k + p]) * Double(rb[p * n + j])
                                sum += term
                                magnitude += abs(term)
                            }
                            // fp32 sums: a few ulps of the terms' magnitude.
                            worst = max(worst, Float(abs(Double(c[i * n + j]) - sum) / (magnitude * 1e-6 + 1e-30)))
                        }
                    }
                    #expect(worst < 16, "\(m)×\(k)×\(n) transposeA \(transposeA) transposeB \(transposeB) accumulate \(accumulate): error \(worst)·1e-6 of the terms' magnitude")
                }
            }
        }
    }

    @Test(.enabled(if: available, "this CPU has no AVX512-BF16"))
    func theThreadSplitChangesNoBit() {
        let (m, k, n) = (301, 200, 77)
        var generator = RandomGenerator(seed: 9)
        let a = (0..<(m * k)).map { _ in generator.nextFloat() - 0.5 }
        let b = (0..<(k * n)).map { _ in generator.nextFloat() - 0.5 }
        func product(threads: Int) -> [Float] {
            let context = KernelContext(parallelism: Parallelism(threads: threads))
            let packed = PackedBFloat16Matrix(inner: k, columns: n)
            packed.pack(from: b, leading: n, transposed: false, context: context)
            var c = [Float](repeating: 0, count: m * n)
            Kernels.bf16Multiply(
                rows: m, columns: n, inner: k, a, leadingA: k, packed, &c, leadingC: n, accumulate: false, context: context)
            return c
        }
        #expect(product(threads: 1) == product(threads: 2))
    }

    private func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<(rows * columns)).map { index in values[(index % rows) * columns + index / rows] }
    }
}
