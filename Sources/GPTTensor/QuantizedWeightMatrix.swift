import CQuantized

/// A weight matrix stored in one of ggml's types (F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1), in place
/// wherever its bytes are (a memory-mapped GGUF file): `outputSize` rows of `inputSize` elements,
/// each row a run of blocks along the input, as llama.cpp stores it.
///
/// One vector (decode) goes through the integer kernels: the activations are quantized to 8 bits
/// per block of 32, then every row is an integer dot product scaled once per block (F16 and BF16
/// rows are widened and multiplied in float). Many rows at once (prefill, evaluation) dequantize a
/// tile of weight rows at a time into scratch and multiply it through the BLAS, so each weight is
/// dequantized once per product, not once per input row.
public struct QuantizedWeightMatrix: WeightMatrix, @unchecked Sendable {
    public let type: WeightType
    public let bytes: UnsafeRawPointer
    public let inputSize: Int
    public let outputSize: Int
    public let rowBytes: Int
    /// Whatever owns `bytes` (a mapped file), kept alive as long as the matrix.
    private let owner: (any Sendable)?

    /// Input rows up to which a product runs row by row through the decode kernels.
    static let rowByRowLimit = 4
    /// Weight rows dequantized at a time per thread for many-row products.
    static let tileRows = 128

    public init(type: WeightType, bytes: UnsafeRawPointer, inputSize: Int, outputSize: Int, owner: (any Sendable)?) {
        precondition(type != .f32, "QuantizedWeightMatrix: F32 weights are a DenseWeightMatrix")
        guard let rowBytes = type.rowBytes(columns: inputSize) else {
            preconditionFailure("QuantizedWeightMatrix: rows of \(inputSize) are not whole \(type) blocks")
        }
        self.type = type
        self.bytes = bytes
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.rowBytes = rowBytes
        self.owner = owner
    }

    public var storageBytes: Int { rowBytes * outputSize }

    public func apply(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext
    ) {
        if context.isBatchInvariant {
            batchInvariantProduct(output: output, input: input, bias: bias, rows: rows, context: context)
        } else if rows <= Self.rowByRowLimit {
            for row in 0..<rows {
                vectorProduct(output: output + row * outputSize, input: input + row * inputSize, bias: bias, context: context)
            }
        } else {
            tiledProduct(output: output, input: input, bias: bias, rows: rows, context: context)
        }
    }

    public func copyWeights(ofOutputs outputs: UnsafePointer<Int32>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for index in 0..<count {
            type.dequantize(bytes + Int(outputs[index]) * rowBytes, count: inputSize, into: destination + index * inputSize)
        }
    }

    private func vectorProduct(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, context: KernelContext
    ) {
        let kernels = context.quantized
        let (type, bytes, rowBytes, inputSize) = (type.rawValue, bytes, rowBytes, inputSize)
        var activations: gpt_q8_activations?
        if self.type.isInteger {
            // Scratch: inputSize bytes of codes (as inputSize / 4 floats), then scales and sums per block.
            let blocks = inputSize / 32
            let scratch = context.scratch(count: inputSize / 4 + 2 * blocks)
            let codes = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: Int8.self)
            let a = gpt_q8_activations(q: codes, scale: scratch + inputSize / 4, sum: scratch + inputSize / 4 + blocks)
            kernels.quantize_activations(a, input, inputSize)
            activations = a
        }
        context.parallelism.forEachChunk(of: outputSize, minimumChunk: 64) { _, range in
            let out = output + range.lowerBound
            let rows = bytes + range.lowerBound * rowBytes
            if let activations {
                kernels.integer_rows_times_vector(type, out, rows, rowBytes, range.count, inputSize, activations)
            } else {
                kernels.half_rows_times_vector(type, out, rows, rowBytes, range.count, inputSize, input)
            }
            if let bias { for index in range { output[index] += bias[index] } }
        }
    }

    /// Weight rows per tile of the batch-invariant product: small enough to stay in cache while every
    /// input row passes over them.
    static let invariantTileRows = 64

    /// Every input row through the decode kernels, over tiles of weight rows fixed by the output size
    /// and thread count alone: a row's products are the same bits whatever other rows share the call,
    /// and each tile is read from memory once for all of them.
    private func batchInvariantProduct(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext
    ) {
        let kernels = context.quantized
        let (type, bytes, rowBytes, inputSize, outputSize) = (type.rawValue, bytes, rowBytes, inputSize, outputSize)
        let isInteger = self.type.isInteger
        // Integer types: each input row quantized once (codes, then scales and sums per block).
        let blocks = inputSize / 32
        let perRow = inputSize / 4 + 2 * blocks
        let scratch = context.scratch(count: isInteger ? rows * perRow : 1)
        func activations(_ row: Int) -> gpt_q8_activations {
            let base = scratch + row * perRow
            return gpt_q8_activations(
                q: UnsafeMutableRawPointer(base).assumingMemoryBound(to: Int8.self), scale: base + inputSize / 4,
                sum: base + inputSize / 4 + blocks)
        }
        let quantized = isInteger ? (0..<rows).map(activations) : []
        for (row, a) in quantized.enumerated() { kernels.quantize_activations(a, input + row * inputSize, inputSize) }
        let tile = Self.invariantTileRows
        quantized.withUnsafeBufferPointer { quantized in
            context.parallelism.forEachChunk(of: outputSize, minimumChunk: tile) { _, range in
                var start = range.lowerBound
                while start < range.upperBound {
                    let count = min(tile, range.upperBound - start)
                    let weights = bytes + start * rowBytes
                    if isInteger {
                        // Each weight block decoded once for several input rows; every row's sums as alone.
                        kernels.integer_rows_times_rows(
                            type, output + start, outputSize, weights, rowBytes, count, inputSize, quantized.baseAddress!, rows)
                    } else {
                        for row in 0..<rows {
                            kernels.half_rows_times_vector(
                                type, output + row * outputSize + start, weights, rowBytes, count, inputSize, input + row * inputSize)
                        }
                    }
                    if let bias {
                        for row in 0..<rows {
                            let out = output + row * outputSize + start
                            for index in 0..<count { out[index] += bias[start + index] }
                        }
                    }
                    start += count
                }
            }
        }
    }

    /// d input (rows × in) += d out (rows × out) · W (out × in), tile by tile of weight rows in order
    /// (each element's sum has one order). The rows of d input are split between threads and each
    /// thread dequantizes every tile into its own scratch, so no two threads write one element.
    public func accumulateInputGradient(
        _ inputGradient: UnsafeMutablePointer<Float>, outputGradient: UnsafePointer<Float>, rows: Int, context: KernelContext
    ) {
        let kernels = context.quantized
        let (type, bytes, rowBytes, inputSize, outputSize) = (type.rawValue, bytes, rowBytes, inputSize, outputSize)
        let tile = Self.tileRows
        let chunks = context.parallelism.chunkCount(of: rows, minimumChunk: 16)
        let scratch = context.scratch(count: chunks * tile * inputSize)
        context.parallelism.forEachChunk(of: rows, minimumChunk: 16) { chunk, range in
            let weights = scratch + chunk * tile * inputSize
            var start = 0
            while start < outputSize {
                let count = min(tile, outputSize - start)
                kernels.dequantize_rows(type, weights, bytes + start * rowBytes, rowBytes, count, inputSize)
                BLAS.multiply(
                    rows: range.count, columns: inputSize, inner: count,
                    outputGradient + range.lowerBound * outputSize + start, leadingA: outputSize, weights, leadingB: inputSize,
                    beta: 1, inputGradient + range.lowerBound * inputSize, leadingC: inputSize)
                start += count
            }
        }
    }

    private func tiledProduct(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        context: KernelContext
    ) {
        let kernels = context.quantized
        let (type, bytes, rowBytes, inputSize, outputSize) = (type.rawValue, bytes, rowBytes, inputSize, outputSize)
        let tile = Self.tileRows
        let chunks = context.parallelism.chunkCount(of: outputSize, minimumChunk: tile)
        let scratch = context.scratch(count: chunks * tile * inputSize)
        if let bias {
            for row in 0..<rows { (output + row * outputSize).update(from: bias, count: outputSize) }
        }
        context.parallelism.forEachChunk(of: outputSize, minimumChunk: tile) { chunk, range in
            let weights = scratch + chunk * tile * inputSize
            var start = range.lowerBound
            while start < range.upperBound {
                let count = min(tile, range.upperBound - start)
                kernels.dequantize_rows(type, weights, bytes + start * rowBytes, rowBytes, count, inputSize)
                BLAS.multiply(
                    transposeB: true, rows: rows, columns: count, inner: inputSize, input, leadingA: inputSize,
                    weights, leadingB: inputSize, beta: bias == nil ? 0 : 1, output + start, leadingC: outputSize)
                start += count
            }
        }
    }
}
