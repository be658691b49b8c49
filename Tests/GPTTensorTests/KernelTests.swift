import Foundation
import GPTTensor
import GPTTestSupport
import Testing

/// Forward values on hand-computed cases, and every backward against finite differences:
/// for a kernel f and random weights w, the scalar L = Σ w ⊙ f(x) has ∂L/∂x = backward(dout = w).
/// Every test runs at each instruction level this CPU supports (the kernel tables are chosen per context).
@Suite struct KernelTests {

    /// Σ weights ⊙ values, in Double.
    func weightedSum(_ values: UnsafePointer<Float>, _ weights: [Float]) -> Double {
        var sum = 0.0
        for index in weights.indices { sum += Double(values[index]) * Double(weights[index]) }
        return sum
    }

    @Test(arguments: KernelLevel.supported) func layerNormNormalisesAndMatchesFiniteDifferences(level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (rows, C) = (5, 8)
        let input = FloatBuffer(randomValues(rows * C, scale: 2, seed: 1))
        let weight = FloatBuffer(randomValues(C, seed: 2).map { $0 + 1 })
        let bias = FloatBuffer(randomValues(C, seed: 3))
        let output = FloatBuffer(count: rows * C)
        let mean = FloatBuffer(count: rows)
        let rstd = FloatBuffer(count: rows)
        func forward() {
            Kernels.layerNormForward(
                output: output.pointer, mean: mean.pointer, reciprocalStandardDeviation: rstd.pointer,
                input: input.pointer, weight: weight.pointer, bias: bias.pointer, rows: rows, channels: C,
                epsilon: 1e-5, context: context)
        }
        // Unit gain and zero bias give zero mean and unit variance per row.
        let plain = FloatBuffer(count: rows * C)
        let ones = FloatBuffer([Float](repeating: 1, count: C))
        Kernels.layerNormForward(
            output: plain.pointer, mean: mean.pointer, reciprocalStandardDeviation: rstd.pointer, input: input.pointer,
            weight: ones.pointer, bias: nil, rows: rows, channels: C, epsilon: 1e-5, context: context)
        for row in 0..<rows {
            let values = plain.array[(row * C)..<((row + 1) * C)]
            let m = values.reduce(0, +) / Float(C)
            let v = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(C)
            #expect(abs(m) < 1e-5)
            #expect(abs(v - 1) < 1e-3)
        }
        let dout = randomValues(rows * C, seed: 4)
        func loss() -> Double { forward(); return weightedSum(output.pointer, dout) }
        forward()
        let dinput = FloatBuffer(count: rows * C)
        let dweight = FloatBuffer(count: C)
        let dbias = FloatBuffer(count: C)
        dout.withUnsafeBufferPointer { dout in
            Kernels.layerNormBackward(
                inputGradient: dinput.pointer, weightGradient: dweight.pointer, biasGradient: dbias.pointer,
                outputGradient: dout.baseAddress!, input: input.pointer, weight: weight.pointer, mean: mean.pointer,
                reciprocalStandardDeviation: rstd.pointer, rows: rows, channels: C, context: context)
        }
        let all = Array(0..<(rows * C))
        expectGradientMatches(
            analytic: dinput.array, numerical: numericalGradient(of: loss, perturbing: input.pointer, indices: all, step: 1e-3),
            tolerance: 1e-2, "d input")
        expectGradientMatches(
            analytic: dweight.array, numerical: numericalGradient(of: loss, perturbing: weight.pointer, indices: Array(0..<C), step: 1e-3),
            tolerance: 1e-2, "d weight")
        expectGradientMatches(
            analytic: dbias.array, numerical: numericalGradient(of: loss, perturbing: bias.pointer, indices: Array(0..<C), step: 1e-3),
            tolerance: 1e-2, "d bias")
    }

    @Test(arguments: [Activation.gelu, .relu], KernelLevel.supported)
    func activationValuesAndGradient(activation: Activation, level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let points: [Float] = [-3, -1, -0.5, 0.25, 1, 2.5]
        let input = FloatBuffer(points)
        let output = FloatBuffer(count: points.count)
        Kernels.activationForward(output: output.pointer, input: input.pointer, count: points.count, activation: activation, context: context)
        let expected = points.map { x -> Float in
            switch activation {
            case .gelu: 0.5 * x * (1 + Float(tanh(Double(0.7978845608 * (x + 0.044715 * x * x * x)))))
            case .relu: max(0, x)
            }
        }
        expectClose(output.array, expected, absolute: 1e-6, relative: 1e-5, "\(activation) values")
        if activation == .gelu {
            #expect(abs(output[4] - 0.841192) < 1e-5)  // GPT-2's gelu_new(1)
        }
        let dout = randomValues(points.count, seed: 9)
        let dinput = FloatBuffer(count: points.count)
        dout.withUnsafeBufferPointer {
            Kernels.activationBackward(
                inputGradient: dinput.pointer, outputGradient: $0.baseAddress!, input: input.pointer, count: points.count,
                activation: activation, context: context)
        }
        func loss() -> Double {
            Kernels.activationForward(output: output.pointer, input: input.pointer, count: points.count, activation: activation, context: context)
            return weightedSum(output.pointer, dout)
        }
        let numerical = numericalGradient(of: loss, perturbing: input.pointer, indices: Array(points.indices), step: 1e-3)
        expectGradientMatches(analytic: dinput.array, numerical: numerical, tolerance: 1e-3, "\(activation)")
    }

    @Test(arguments: [Float(0), 0.3], KernelLevel.supported)
    func attentionIsCausalAndMatchesFiniteDifferences(dropout: Float, level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (B, T, C, NH) = (2, 5, 8, 2)
        let qkv = FloatBuffer(randomValues(B * T * 3 * C, scale: 1.5, seed: 11))
        let output = FloatBuffer(count: B * T * C)
        let attention = FloatBuffer(count: B * NH * T * T)
        func forward() {
            Kernels.attentionForward(
                output: output.pointer, attention: attention.pointer, qkv: qkv.pointer, batch: B, length: T, channels: C,
                heads: NH, dropout: dropout, dropoutSeed: 5, context: context)
        }
        forward()
        for item in 0..<(B * NH) {
            for t in 0..<T {
                let row = (0..<T).map { attention[item * T * T + t * T + $0] }
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                #expect(row[(t + 1)...].allSatisfy { $0 == 0 })
            }
        }
        // The first position attends only to itself: its output is its own value vector.
        if dropout == 0 {
            for h in 0..<NH {
                for i in 0..<(C / NH) {
                    #expect(abs(output[h * (C / NH) + i] - qkv[2 * C + h * (C / NH) + i]) < 1e-6)
                }
            }
        }
        let dout = randomValues(B * T * C, seed: 12)
        let dqkv = FloatBuffer(count: B * T * 3 * C)
        dout.withUnsafeBufferPointer {
            Kernels.attentionBackward(
                qkvGradient: dqkv.pointer, outputGradient: $0.baseAddress!, attention: attention.pointer, qkv: qkv.pointer,
                batch: B, length: T, channels: C, heads: NH, dropout: dropout, dropoutSeed: 5, context: context)
        }
        func loss() -> Double { forward(); return weightedSum(output.pointer, dout) }
        let indices = Array(0..<(B * T * 3 * C))
        let numerical = numericalGradient(of: loss, perturbing: qkv.pointer, indices: indices, step: 1e-3)
        expectGradientMatches(analytic: dqkv.array, numerical: numerical, tolerance: 1e-2, "attention d qkv")
    }

    @Test(arguments: KernelLevel.supported) func crossEntropyValueAndGradient(level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (rows, V) = (3, 7)
        let logits = FloatBuffer(randomValues(rows * V, scale: 3, seed: 21))
        let targets: [Int32] = [0, 6, 3]
        let losses = FloatBuffer(count: rows)
        let lse = FloatBuffer(count: rows)
        func forward() {
            targets.withUnsafeBufferPointer {
                Kernels.crossEntropyForward(
                    losses: losses.pointer, logSumExp: lse.pointer, logits: logits.pointer, targets: $0.baseAddress!,
                    rows: rows, vocabularySize: V, context: context)
            }
        }
        forward()
        for row in 0..<rows {
            let z = (0..<V).map { Double(logits[row * V + $0]) }
            let expected = log(z.map { exp($0) }.reduce(0, +)) - z[Int(targets[row])]
            #expect(abs(Double(losses[row]) - expected) < 1e-5)
        }
        let dlogits = FloatBuffer(count: rows * V)
        targets.withUnsafeBufferPointer {
            Kernels.crossEntropyBackward(
                logitsGradient: dlogits.pointer, logits: logits.pointer, logSumExp: lse.pointer, targets: $0.baseAddress!,
                lossGradient: 1 / Float(rows), rows: rows, vocabularySize: V, context: context)
        }
        func loss() -> Double { forward(); return losses.array.map(Double.init).reduce(0, +) / Double(rows) }
        let numerical = numericalGradient(of: loss, perturbing: logits.pointer, indices: Array(0..<(rows * V)), step: 1e-3)
        expectGradientMatches(analytic: dlogits.array, numerical: numerical, tolerance: 1e-2, "d logits")
    }

    @Test(arguments: KernelLevel.supported) func distillationValueAndGradient(level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (rows, V, temperature, alpha) = (3, 7, Float(2), Float(0.7))
        let student = FloatBuffer(randomValues(rows * V, scale: 3, seed: 23))
        let teacher = FloatBuffer(randomValues(rows * V, scale: 3, seed: 24))
        let targets: [Int32] = [2, 0, 6]
        let losses = FloatBuffer(count: rows)
        let dlogits = FloatBuffer(count: rows * V)
        func run() {
            targets.withUnsafeBufferPointer {
                Kernels.distillation(
                    losses: losses.pointer, logitsGradient: dlogits.pointer, student: student.pointer, teacher: teacher.pointer,
                    targets: $0.baseAddress!, rows: rows, vocabularySize: V, temperature: temperature, alpha: alpha,
                    lossGradient: 1 / Float(rows), context: context)
            }
        }
        run()
        // α·T²·KL(p_t ‖ p_s) + (1 − α)·CE, in Double.
        func softmax(_ z: [Double]) -> [Double] {
            let m = z.max()!
            let e = z.map { exp($0 - m) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        }
        for row in 0..<rows {
            let s = (0..<V).map { Double(student[row * V + $0]) }
            let t = (0..<V).map { Double(teacher[row * V + $0]) }
            let (ps, pt) = (softmax(s.map { $0 / Double(temperature) }), softmax(t.map { $0 / Double(temperature) }))
            let kl = zip(pt, ps).reduce(0.0) { $0 + $1.0 * log($1.0 / $1.1) }
            let ce = -log(softmax(s)[Int(targets[row])])
            let expected = Double(alpha * temperature * temperature) * kl + Double(1 - alpha) * ce
            #expect(abs(Double(losses[row]) - expected) < 1e-4 * max(1, expected), "row \(row)")
        }
        let analytic = dlogits.array
        func loss() -> Double { run(); return losses.array.map(Double.init).reduce(0, +) / Double(rows) }
        let numerical = numericalGradient(of: loss, perturbing: student.pointer, indices: Array(0..<(rows * V)), step: 1e-3)
        expectGradientMatches(analytic: analytic, numerical: numerical, tolerance: 1e-2, "d student logits")
    }

    @Test(arguments: [false, true], KernelLevel.supported)
    func linearMatchesFiniteDifferences(outputMajor: Bool, level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (rows, inputSize, outputSize) = (4, 6, 5)
        let input = FloatBuffer(randomValues(rows * inputSize, seed: 31))
        let weight = FloatBuffer(randomValues(inputSize * outputSize, seed: 32))
        let bias = FloatBuffer(randomValues(outputSize, seed: 33))
        let output = FloatBuffer(count: rows * outputSize)
        let ones = FloatBuffer([Float](repeating: 1, count: rows))
        let useBias = !outputMajor
        func forward() {
            Kernels.linearForward(
                output: output.pointer, input: input.pointer, weight: weight.pointer, bias: useBias ? bias.pointer : nil,
                rows: rows, inputSize: inputSize, outputSize: outputSize, weightIsOutputMajor: outputMajor, context: context)
        }
        let dout = randomValues(rows * outputSize, seed: 34)
        let (dinput, dweight, dbias) = (FloatBuffer(count: rows * inputSize), FloatBuffer(count: weight.count), FloatBuffer(count: outputSize))
        dout.withUnsafeBufferPointer {
            Kernels.linearBackward(
                inputGradient: dinput.pointer, weightGradient: dweight.pointer, biasGradient: useBias ? dbias.pointer : nil,
                outputGradient: $0.baseAddress!, input: input.pointer, weight: weight.pointer, ones: ones.pointer,
                rows: rows, inputSize: inputSize, outputSize: outputSize, weightIsOutputMajor: outputMajor, context: context)
        }
        func loss() -> Double { forward(); return weightedSum(output.pointer, dout) }
        expectGradientMatches(
            analytic: dinput.array, numerical: numericalGradient(of: loss, perturbing: input.pointer, indices: Array(0..<input.count)),
            tolerance: 1e-3, "d input")
        expectGradientMatches(
            analytic: dweight.array, numerical: numericalGradient(of: loss, perturbing: weight.pointer, indices: Array(0..<weight.count)),
            tolerance: 1e-3, "d weight")
        if useBias {
            expectGradientMatches(
                analytic: dbias.array, numerical: numericalGradient(of: loss, perturbing: bias.pointer, indices: Array(0..<outputSize)),
                tolerance: 1e-3, "d bias")
        }
    }

    @Test(arguments: KernelLevel.supported) func embeddingAddsPositionsAndScattersGradients(level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let (B, T, C, V) = (2, 3, 4, 5)
        let tokens: [Int32] = [1, 1, 4, 0, 1, 2]
        let table = FloatBuffer(randomValues(V * C, seed: 41))
        let positions = FloatBuffer(randomValues(T * C, seed: 42))
        let output = FloatBuffer(count: B * T * C)
        tokens.withUnsafeBufferPointer {
            Kernels.embeddingForward(
                output: output.pointer, tokens: $0.baseAddress!, tokenEmbedding: table.pointer, positionTable: positions.pointer,
                batch: B, length: T, channels: C, context: context)
        }
        for row in 0..<(B * T) {
            for c in 0..<C {
                #expect(output[row * C + c] == table[Int(tokens[row]) * C + c] + positions[(row % T) * C + c])
            }
        }
        let dout = randomValues(B * T * C, seed: 43)
        let (dtable, dpositions) = (FloatBuffer(count: V * C), FloatBuffer(count: T * C))
        dout.withUnsafeBufferPointer { dout in
            tokens.withUnsafeBufferPointer {
                Kernels.embeddingBackward(
                    tokenEmbeddingGradient: dtable.pointer, positionEmbeddingGradient: dpositions.pointer,
                    outputGradient: dout.baseAddress!, tokens: $0.baseAddress!, batch: B, length: T, channels: C, context: KernelContext(parallelism: Parallelism(threads: 1), level: level))
            }
        }
        // Token 1 appears three times: its gradient is the sum of those three rows.
        for c in 0..<C {
            let expected = dout[0 * C + c] + dout[1 * C + c] + dout[4 * C + c]
            #expect(abs(dtable[1 * C + c] - expected) < 1e-6)
            #expect(abs(dpositions[c] - (dout[c] + dout[3 * C + c])) < 1e-6)
            #expect(dtable[3 * C + c] == 0)
        }
    }

    @Test(arguments: KernelLevel.supported) func dropoutKeepsTheRightShareAndIsReproducible(level: KernelLevel) {
        let context = KernelContext(parallelism: Parallelism(threads: 2), level: level)
        let count = 100_000
        let ones = FloatBuffer([Float](repeating: 1, count: count))
        let first = FloatBuffer(count: count)
        let second = FloatBuffer(count: count)
        Kernels.dropout(output: first.pointer, input: ones.pointer, count: count, probability: 0.25, seed: 7, context: context)
        Kernels.dropout(
            output: second.pointer, input: ones.pointer, count: count, probability: 0.25, seed: 7,
            context: KernelContext(parallelism: Parallelism(threads: 1), level: level))
        #expect(first.array == second.array)
        let kept = first.array.filter { $0 != 0 }
        #expect(abs(Double(kept.count) / Double(count) - 0.75) < 0.01)
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
    }
}
