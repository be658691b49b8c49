import GPTTensor
import GPTTestSupport
import Testing

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesTheReferenceLoop(transposes: (Bool, Bool)) {
        let (transposeA, transposeB) = transposes
        for (rows, columns, inner) in [(1, 1, 1), (7, 65, 13), (33, 17, 129)] {
            let a = FloatBuffer(randomValues(rows * inner, seed: 1))
            let b = FloatBuffer(randomValues(inner * columns, seed: 2))
            let fast = FloatBuffer(count: rows * columns)
            let slow = FloatBuffer(count: rows * columns)
            let leadingA = transposeA ? rows : inner
            let leadingB = transposeB ? inner : columns
            BLAS.multiply(
                transposeA: transposeA, transposeB: transposeB, rows: rows, columns: columns, inner: inner,
                a.pointer, leadingA: leadingA, b.pointer, leadingB: leadingB, fast.pointer, leadingC: columns)
            BLAS.referenceMultiply(
                transposeA: transposeA, transposeB: transposeB, rows: rows, columns: columns, inner: inner,
                a.pointer, leadingA: leadingA, b.pointer, leadingB: leadingB, slow.pointer, leadingC: columns)
            expectClose(fast.array, slow.array, absolute: 1e-5, relative: 1e-5, "\(rows)×\(inner)×\(columns)")
        }
    }

    /// swift-gpt's own sgemm (used where OpenBLAS does not know the CPU) at every level this CPU runs:
    /// every transpose, alpha and beta, edge tiles and shapes past one block of each blocking size.
    @Test(arguments: KernelLevel.supported)
    func ownProductsMatchTheReferenceLoop(level: KernelLevel) {
        let shapes = [(1, 1, 1), (7, 65, 13), (33, 17, 129), (97, 35, 300), (130, 2_100, 40), (5, 3, 600)]
        for (rows, columns, inner) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (2, 0.25)] {
                        let a = FloatBuffer(randomValues(rows * inner, seed: 1))
                        let b = FloatBuffer(randomValues(inner * columns, seed: 2))
                        let start = randomValues(rows * columns, seed: 3)
                        let ours = FloatBuffer(start)
                        let reference = FloatBuffer(count: rows * columns)
                        let (leadingA, leadingB) = (transposeA ? rows : inner, transposeB ? inner : columns)
                        BLAS.ownMultiply(
                            level: level, transposeA: transposeA, transposeB: transposeB, rows: rows, columns: columns,
                            inner: inner, alpha: alpha, a.pointer, leadingA: leadingA, b.pointer, leadingB: leadingB, beta: beta,
                            ours.pointer, leadingC: columns)
                        BLAS.referenceMultiply(
                            transposeA: transposeA, transposeB: transposeB, rows: rows, columns: columns, inner: inner,
                            a.pointer, leadingA: leadingA, b.pointer, leadingB: leadingB, reference.pointer, leadingC: columns)
                        let expected = (0..<(rows * columns)).map { alpha * reference[$0] + beta * start[$0] }
                        expectClose(
                            ours.array, expected, absolute: 2e-5, relative: 1e-4,
                            "\(level) \(rows)×\(inner)×\(columns) transposes \(transposeA) \(transposeB) alpha \(alpha) beta \(beta)")
                    }
                }
            }
        }
    }

    @Test func threadedLinearMatchesSingleThreaded() {
        let (rows, inputSize, outputSize) = (37, 24, 50)
        let input = FloatBuffer(randomValues(rows * inputSize, seed: 3))
        let weight = FloatBuffer(randomValues(inputSize * outputSize, seed: 4))
        let bias = FloatBuffer(randomValues(outputSize, seed: 5))
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let output = FloatBuffer(count: rows * outputSize)
            Kernels.linearForward(
                output: output.pointer, input: input.pointer, weight: weight.pointer, bias: bias.pointer, rows: rows,
                inputSize: inputSize, outputSize: outputSize, context: KernelContext(parallelism: Parallelism(threads: threads)))
            results.append(output.array)
        }
        // Row blocks of different sizes may take different BLAS code paths: equal up to rounding.
        expectClose(results[1], results[0], absolute: 1e-6, relative: 1e-6, "2 threads")
        expectClose(results[2], results[0], absolute: 1e-6, relative: 1e-6, "3 threads")
    }
}

@Suite struct ParallelismAndRandomTests {
    @Test func chunksCoverEveryIndexOnce() {
        for threads in [1, 2, 5] {
            for count in [0, 1, 7, 100] {
                var seen = [Int](repeating: 0, count: count)
                seen.withUnsafeMutableBufferPointer { seen in
                    Parallelism(threads: threads).forEachChunk(of: count) { _, range in
                        for index in range { seen[index] += 1 }
                    }
                }
                #expect(seen.allSatisfy { $0 == 1 })
            }
        }
    }

    @Test func generatorIsDeterministicAndUniform() {
        var first = RandomGenerator(seed: 42)
        var second = RandomGenerator(seed: 42)
        var other = RandomGenerator(seed: 43)
        let a = (0..<100).map { _ in first.next() }
        #expect(a == (0..<100).map { _ in second.next() })
        #expect(a != (0..<100).map { _ in other.next() })
        var generator = RandomGenerator(seed: 1)
        let samples = (0..<20_000).map { _ in generator.nextFloat() }
        let mean = samples.reduce(0, +) / Float(samples.count)
        #expect(abs(mean - 0.5) < 0.01)
        #expect(samples.allSatisfy { $0 >= 0 && $0 < 1 })
        let normals = (0..<20_000).map { _ in generator.nextNormal() }
        let variance = normals.map { $0 * $0 }.reduce(0, +) / Float(normals.count)
        #expect(abs(variance - 1) < 0.05)
    }
}

/// Ceilings probed before and after timed work, and the verdict on a machine that changed speed.
@Suite struct CeilingProbeTests {
    @Test func probesWithinFifteenPercentAreSteadyOthersAreNot() {
        let steady = CeilingProbes(
            before: MachineCeilings(sgemmGigaflops: 150, bandwidthGigabytes: 40),
            after: MachineCeilings(sgemmGigaflops: 140, bandwidthGigabytes: 41))
        #expect(steady.isStable && abs(steady.drift - 10.0 / 140) < 1e-12)
        #expect(steady.best.sgemmGigaflops == 150 && steady.best.bandwidthGigabytes == 41)
        #expect(steady.summary.contains("steady") && steady.summary.contains("150.0 → 140.0 GFLOP/s"))
        // A core under load after the steps: sgemm fell by a third.
        let loaded = CeilingProbes(
            before: MachineCeilings(sgemmGigaflops: 150, bandwidthGigabytes: 40),
            after: MachineCeilings(sgemmGigaflops: 100, bandwidthGigabytes: 40))
        #expect(!loaded.isStable)
        #expect(loaded.summary.contains("machine unstable") && loaded.summary.contains("50%"))
        // Bandwidth alone can make a run unstable too.
        let bandwidth = CeilingProbes(
            before: MachineCeilings(sgemmGigaflops: 150, bandwidthGigabytes: 40),
            after: MachineCeilings(sgemmGigaflops: 150, bandwidthGigabytes: 30))
        #expect(!bandwidth.isStable)
    }

    @Test func probesMeasureSomething() {
        let ceilings = MachineCeilings.probe(sgemmShape: (64, 64, 64), parallelism: Parallelism(threads: 1))
        #expect(ceilings.sgemmGigaflops > 0.1 && ceilings.bandwidthGigabytes > 0.1)
        #expect(residentMemoryBytes() > 1_000_000)
    }
}
