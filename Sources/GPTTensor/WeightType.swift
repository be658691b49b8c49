import CQuantized

/// How a weight matrix's numbers are stored: the ggml types swift-gpt computes with (values as in
/// ggml.h), each a run of blocks along a matrix row (the input dimension), bit for bit ggml's layout.
public enum WeightType: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    /// Elements per block.
    public var blockSize: Int { Int(gpt_type_block_size(rawValue)) }
    /// Bytes per block.
    public var blockBytes: Int { Int(gpt_type_block_bytes(rawValue)) }
    /// Whether products with this type quantize the activations to 8 bits first.
    public var isInteger: Bool { blockSize > 1 }
    /// Whether this is a K-quant (super-blocks of 256 with quantized sub-block scales).
    public var isKQuant: Bool { blockSize == 256 }

    /// What llama.cpp writes instead when a row is not whole blocks of this type: a K-quant falls back
    /// to the 32-element type of about its size (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0), anything
    /// else to F16; nil when rows of `columns` fit.
    public func fallback(columns: Int) -> WeightType? {
        guard rowBytes(columns: columns) == nil else { return nil }
        let replacement: WeightType = switch self {
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .q6_K: .q8_0
        default: .f16
        }
        return replacement.rowBytes(columns: columns) == nil ? .f16 : replacement
    }

    /// ggml's name: F32, F16, BF16, Q8_0, Q4_0 …
    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        }
    }

    /// The type named `name` (any case: "q8_0", "F16").
    public init?(name: String) {
        guard let type = Self.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else { return nil }
        self = type
    }

    /// Bytes of one row of `columns` elements, or nil when `columns` is not a whole number of blocks.
    public func rowBytes(columns: Int) -> Int? {
        guard columns > 0, columns % blockSize == 0 else { return nil }
        return columns / blockSize * blockBytes
    }

    /// Converts `count` floats (whole blocks) into this type's blocks with ggml's reference rounding.
    public func quantize(_ values: UnsafePointer<Float>, count: Int, into output: UnsafeMutableRawPointer) {
        precondition(count % blockSize == 0, "WeightType.quantize: \(count) is not a whole number of \(self) blocks")
        gpt_quantize_row(rawValue, output, values, count)
    }

    /// The floats `count` elements of this type's blocks stand for.
    public func dequantize(_ blocks: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(count % blockSize == 0, "WeightType.dequantize: \(count) is not a whole number of \(self) blocks")
        gpt_dequantize_row(rawValue, output, blocks, count)
    }

    /// Quantizes `rows` rows of `columns` floats (whole blocks) into a new byte array, rows split
    /// across threads (each row's bytes depend on that row alone).
    public func quantize(_ values: UnsafePointer<Float>, rows: Int, columns: Int, parallelism: Parallelism) -> [UInt8] {
        guard let rowBytes = rowBytes(columns: columns) else {
            preconditionFailure("WeightType.quantize: rows of \(columns) are not whole \(self) blocks")
        }
        var output = [UInt8](repeating: 0, count: rows * rowBytes)
        output.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            parallelism.forEachChunk(of: rows, minimumChunk: 8) { _, range in
                gpt_quantize_row(rawValue, base + range.lowerBound * rowBytes, values + range.lowerBound * columns, range.count * columns)
            }
        }
        return output
    }

    /// Quantizes `values` into a new byte array.
    public func quantize(_ values: [Float]) -> [UInt8] {
        let bytes = values.count / blockSize * blockBytes
        var output = [UInt8](repeating: 0, count: bytes)
        values.withUnsafeBufferPointer { v in
            output.withUnsafeMutableBytes { quantize(v.baseAddress!, count: values.count, into: $0.baseAddress!) }
        }
        return output
    }

    /// Dequantizes `bytes` (whole blocks) into floats.
    public func dequantize(_ bytes: [UInt8]) -> [Float] {
        let count = bytes.count / blockBytes * blockSize
        var output = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { b in
            output.withUnsafeMutableBufferPointer { dequantize(b.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        return output
    }
}
