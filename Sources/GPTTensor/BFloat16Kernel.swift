import CKernels

/// A matrix B rounded to bf16 and packed in the panels `Kernels.bf16Multiply` reads: a weight, packed
/// once per optimizer step and multiplied by every micro-batch.
public final class PackedBFloat16Matrix: @unchecked Sendable {
    /// B's rows (the products' inner size) and columns.
    public let inner: Int
    public let columns: Int
    let storage: UnsafeMutablePointer<UInt16>
    private let count: Int

    public init(inner: Int, columns: Int) {
        self.inner = inner
        self.columns = columns
        count = gpt_bf16_packed_count(Int32(inner), Int32(columns))
        storage = .allocate(capacity: count)
        storage.initialize(repeating: 0, count: count)
    }

    deinit { storage.deallocate() }

    /// Bytes held.
    public var bytes: Int { count * 2 }

    /// Packs B = `source` (inner × columns, row stride `leading`), or its transpose (`source` is then
    /// columns × inner), splitting the 32-column panels over the context's threads.
    public func pack(from source: UnsafePointer<Float>, leading: Int, transposed: Bool, context: KernelContext) {
        Kernels.bf16Pack(
            inner: inner, columns: columns, source, leading: leading, transposed: transposed, into: storage, context: context)
    }
}

extension Kernels {
    /// Each value as bf16 keeps it (nearest, ties to even), widened back to Float: what the bf16
    /// products multiply.
    public static func bf16Rounded(_ values: [Float]) -> [Float] {
        var bits = [UInt16](repeating: 0, count: values.count)
        gpt_bf16_round(values, &bits, values.count)
        return bits.map { Float(bitPattern: UInt32($0) << 16) }
    }

    /// Columns per packed panel.
    static let bf16PanelWidth = 32

    static func bf16Pack(
        inner: Int, columns: Int, _ source: UnsafePointer<Float>, leading: Int, transposed: Bool,
        into packed: UnsafeMutablePointer<UInt16>, context: KernelContext
    ) {
        let width = bf16PanelWidth
        let panels = (columns + width - 1) / width
        let panelCount = gpt_bf16_packed_count(Int32(inner), Int32(width))
        context.parallelism.forEachChunk(of: panels, minimumChunk: 4) { _, range in
            let first = range.lowerBound * width
            let count = min(columns, range.upperBound * width) - first
            let start = transposed ? source + first * leading : source + first
            gpt_bf16_pack(Int32(inner), Int32(count), start, leading, transposed ? 1 : 0, packed + range.lowerBound * panelCount)
        }
    }

    /// c (rows × columns, row stride `leadingC`) = (or += when `accumulate`) A · B with A (rows × inner)
    /// = `a` or its transpose rounded to bf16 and B packed, each element summed in fp32 in one order
    /// whatever the thread split. Only where `Precision.isBFloat16Available(at: context.level)`.
    public static func bf16Multiply(
        rows: Int, columns: Int, inner: Int, _ a: UnsafePointer<Float>, leadingA: Int, transposeA: Bool = false,
        _ b: PackedBFloat16Matrix, _ c: UnsafeMutablePointer<Float>, leadingC: Int, accumulate: Bool, context: KernelContext
    ) {
        precondition(b.inner == inner && b.columns == columns, "bf16Multiply: the packed matrix is \(b.inner) × \(b.columns)")
        bf16Multiply(
            rows: rows, columns: columns, inner: inner, a, leadingA: leadingA, transposeA: transposeA, packed: b.storage,
            c, leadingC: leadingC, accumulate: accumulate, context: context,
            scratch: UnsafeMutableRawPointer(context.scratch(count: bf16ScratchFloats(rows: rows, context: context))))
    }

    /// Floats of scratch a product over `rows` rows needs (each thread packs its own blocks of A).
    private static func bf16ScratchFloats(rows: Int, context: KernelContext) -> Int {
        context.parallelism.chunkCount(of: rows, minimumChunk: 16) * gpt_bf16_scratch_count() / 2
    }

    private static func bf16Multiply(
        rows: Int, columns: Int, inner: Int, _ a: UnsafePointer<Float>, leadingA: Int, transposeA: Bool,
        packed: UnsafePointer<UInt16>, _ c: UnsafeMutablePointer<Float>, leadingC: Int, accumulate: Bool,
        context: KernelContext, scratch: UnsafeMutableRawPointer
    ) {
        precondition(Precision.isBFloat16Available(at: context.level), "bf16Multiply: no AVX512-BF16 at this level")
        let perThread = gpt_bf16_scratch_count() / 2  // Floats
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { chunk, range in
            let start = transposeA ? a + range.lowerBound : a + range.lowerBound * leadingA
            gpt_bf16_multiply(
                Int32(range.count), Int32(columns), Int32(inner), start, leadingA, transposeA ? 1 : 0, packed,
                c + range.lowerBound * leadingC, leadingC, accumulate ? 1 : 0,
                (scratch + chunk * perThread * 4).assumingMemoryBound(to: UInt16.self))
        }
    }

    /// out (rows × outputSize) = input (rows × inputSize) · W + bias in bf16, W packed forward
    /// (inner = inputSize, columns = outputSize).
    public static func bf16LinearForward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: PackedBFloat16Matrix,
        bias: UnsafePointer<Float>?, rows: Int, context: KernelContext
    ) {
        let (inputSize, outputSize) = (weight.inner, weight.columns)
        if let bias {
            for row in 0..<rows { (output + row * outputSize).update(from: bias, count: outputSize) }
        }
        bf16Multiply(
            rows: rows, columns: outputSize, inner: inputSize, input, leadingA: inputSize, weight, output,
            leadingC: outputSize, accumulate: bias != nil, context: context)
    }

    /// input gradient (rows × inputSize) += output gradient (rows × outputSize) · Wᵀ in bf16, with Wᵀ
    /// packed (inner = outputSize, columns = inputSize).
    public static func bf16LinearInputGradient(
        inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>,
        transposedWeight: PackedBFloat16Matrix, rows: Int, context: KernelContext
    ) {
        let (outputSize, inputSize) = (transposedWeight.inner, transposedWeight.columns)
        bf16Multiply(
            rows: rows, columns: inputSize, inner: outputSize, outputGradient, leadingA: outputSize, transposedWeight,
            inputGradient, leadingC: inputSize, accumulate: true, context: context)
    }

    /// d weight += the bf16 product of the pass's activations (fp32 sums): inputᵀ · d out for a
    /// [in, out] weight, d outᵀ · input for an output-major one; d bias += Σ_rows d out in fp32.
    /// The activation on the right is packed per call into the context's scratch.
    public static func bf16LinearWeightGradient(
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, ones: UnsafePointer<Float>,
        rows: Int, inputSize: Int, outputSize: Int, weightIsOutputMajor: Bool = false, context: KernelContext
    ) {
        // [in, out]: d W (C × OC) += Xᵀ · dY, B = dY. Output-major: d W (OC × C) += dYᵀ · X, B = X.
        let (left, right) = weightIsOutputMajor ? (outputGradient, input) : (input, outputGradient)
        let (m, n) = weightIsOutputMajor ? (outputSize, inputSize) : (inputSize, outputSize)
        let packedFloats = (gpt_bf16_packed_count(Int32(rows), Int32(n)) + 1) / 2
        let scratch = context.scratch(count: packedFloats + bf16ScratchFloats(rows: m, context: context))
        let packed = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt16.self)
        bf16Pack(inner: rows, columns: n, right, leading: n, transposed: false, into: packed, context: context)
        bf16Multiply(
            rows: m, columns: n, inner: rows, left, leadingA: m, transposeA: true, packed: packed, weightGradient,
            leadingC: n, accumulate: true, context: context, scratch: UnsafeMutableRawPointer(scratch + packedFloats))
        if let biasGradient {
            precondition(!weightIsOutputMajor, "bf16LinearWeightGradient: an output-major weight has no bias")
            context.parallelism.forEachChunk(of: outputSize, minimumChunk: 16) { _, range in
                accumulateColumnSums(
                    of: outputGradient, rows: rows, columns: range, leading: outputSize, ones: ones, into: biasGradient)
            }
        }
    }
}

extension Kernels {
    /// The best bf16 GEMM GFLOP/s of `bf16Multiply` for C (rows × columns) = A (rows × inner) · B
    /// (B packed beforehand, as a weight is), with the context's threads; nil where bf16 does not run.
    public static func measureBFloat16Gigaflops(rows: Int, inner: Int, columns: Int, context: KernelContext) -> Double? {
        guard Precision.isBFloat16Available(at: context.level) else { return nil }
        let a = FloatBuffer(count: rows * inner)
        let b = FloatBuffer(count: inner * columns)
        let c = FloatBuffer(count: rows * columns)
        for index in 0..<a.count { a[index] = Float(index % 7) * 0.1 }
        for index in 0..<b.count { b[index] = Float(index % 5) * 0.1 }
        let packed = PackedBFloat16Matrix(inner: inner, columns: columns)
        packed.pack(from: b.pointer, leading: columns, transposed: false, context: context)
        var best = Double.infinity
        let deadline = monotonicSeconds() + 0.5
        var runs = 0
        while runs < 3 || (monotonicSeconds() < deadline && runs < 1000) {
            let start = monotonicSeconds()
            bf16Multiply(
                rows: rows, columns: columns, inner: inner, a.pointer, leadingA: inner, packed, c.pointer, leadingC: columns,
                accumulate: false, context: context)
            best = min(best, monotonicSeconds() - start)
            runs += 1
        }
        return 2 * Double(rows) * Double(inner) * Double(columns) / best / 1e9
    }
}
