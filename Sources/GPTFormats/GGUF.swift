import Foundation
import GPTTensor

/// A GGUF v3 file (llama.cpp's format): magic `GGUF`, version 3, tensor and metadata counts, typed
/// key/value metadata, tensor infos (name, dimensions with the fastest-varying first, ggml type,
/// offset), padding to `general.alignment` (32 by default), then the tensor data. Read through a
/// memory map; every count, length and offset is checked against the file before it is used.
public struct GGUFFile {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        /// ggml's `ne`: dimensions, fastest-varying first (a matrix is [columns, rows]).
        public let dimensions: [Int]
        public let type: GGMLType
        /// Byte range within the file.
        public let byteRange: Range<Int>
        public let elementCount: Int
    }

    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32

    public let url: URL
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [Tensor]
    /// The file's bytes, at a fixed address for as long as anything holds them.
    public let storage: MappedBytes
    private let data: Data

    public init(contentsOf url: URL) throws {
        try self.init(storage: try MappedBytes(contentsOf: url, missing: "check the path"), url: url)
    }

    /// Parses GGUF bytes in memory (a fuzzer's, a test's); `url` names them in errors.
    public init(data: Data, url: URL) throws {
        try self.init(storage: MappedBytes(copying: data), url: url)
    }

    private init(storage: MappedBytes, url: URL) throws {
        let data = storage.data
        var reader = GGUFReader(data: data, name: url.path)
        guard data.count >= 24, Array(data.prefix(4)) == Self.magic else {
            throw FileFormatError("\(url.path) is not a GGUF file (no GGUF magic)")
        }
        reader.offset = 4
        let version = try reader.integer(UInt32.self)
        guard version == 3 else {
            throw FileFormatError("\(url.path) is GGUF version \(version); only version 3 is read (re-convert it with a current llama.cpp)")
        }
        let tensorCount = try reader.count(limit: data.count / 24, what: "tensors")
        let metadataCount = try reader.count(limit: data.count / 13, what: "metadata entries")
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<metadataCount {
            let key = try reader.string()
            guard metadata[key] == nil else { throw reader.corrupt("metadata key \(key.debugDescription) appears twice") }
            metadata[key] = try reader.value(type: try reader.integer(UInt32.self))
        }
        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let given = value.integer, given > 0, given <= 1 << 16, given & (given - 1) == 0 else {
                throw reader.corrupt("general.alignment \(value) is not a power of two up to 65536")
            }
            alignment = given
        }
        var infos: [(name: String, dimensions: [Int], type: GGMLType, offset: Int)] = []
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let name = try reader.string()
            guard names.insert(name).inserted else { throw reader.corrupt("tensor \(name.debugDescription) appears twice") }
            let rank = Int(try reader.integer(UInt32.self))
            guard rank >= 1, rank <= 4 else { throw reader.corrupt("tensor \(name) claims \(rank) dimensions (ggml has 1 to 4)") }
            var dimensions: [Int] = []
            for _ in 0..<rank { dimensions.append(try reader.count(limit: Int(Int32.max), what: "a dimension of tensor \(name)")) }
            let code = try reader.integer(UInt32.self)
            guard let type = GGMLType(rawValue: code) else {
                throw FileFormatError("\(url.path): tensor \(name) has ggml type \(code), which swift-gpt does not read")
            }
            let offset = try reader.count(limit: data.count, what: "the offset of tensor \(name)")
            infos.append((name, dimensions, type, offset))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [Tensor] = []
        for info in infos {
            guard let elements = CheckedSize.product(info.dimensions), elements > 0 else {
                throw reader.corrupt("tensor \(info.name) has dimensions \(info.dimensions)")
            }
            guard elements % info.type.blockSize == 0, info.dimensions[0] % info.type.blockSize == 0 else {
                throw reader.corrupt("tensor \(info.name)'s rows of \(info.dimensions[0]) are not whole \(info.type) blocks of \(info.type.blockSize)")
            }
            guard let bytes = CheckedSize.product(elements / info.type.blockSize, info.type.blockBytes),
                let start = CheckedSize.sum(dataStart, info.offset), let end = CheckedSize.sum(start, bytes), end <= data.count
            else {
                throw FileFormatError(
                    "\(url.path) is truncated or corrupt: tensor \(info.name) lies past the end of the file's \(data.count) bytes; re-download or re-convert it")
            }
            guard info.offset % alignment == 0 else {
                throw reader.corrupt("tensor \(info.name) starts at offset \(info.offset), not a multiple of the alignment \(alignment)")
            }
            tensors.append(Tensor(name: info.name, dimensions: info.dimensions, type: info.type, byteRange: start..<end, elementCount: elements))
        }
        let sorted = tensors.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw reader.corrupt("tensors \(previous.name) and \(next.name) overlap")
        }
        self.url = url
        self.version = Int(version)
        self.metadata = metadata
        self.tensors = tensors
        self.storage = storage
        self.data = data
    }

    /// The address of the file's first byte (valid while `storage` lives).
    public var baseAddress: UnsafeRawPointer { storage.base }

    /// Calls `body` with the address of `tensor`'s bytes.
    public func withBytes<Result>(of tensor: Tensor, _ body: (UnsafeRawPointer) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(storage) { try body(storage.base + tensor.byteRange.lowerBound) }
    }

    public func tensor(_ name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// The raw bytes of `tensor` (ggml's layout for its type).
    public func bytes(of tensor: Tensor) -> Data { data.subdata(in: tensor.byteRange) }

    /// Tensor `name` as Floats (F32 as is, F16 and BF16 widened), in ggml's order: fastest dimension first.
    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensor(name) else { throw FileFormatError("\(url.path) has no tensor \(name)") }
        var values = [Float](repeating: 0, count: tensor.elementCount)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress! + tensor.byteRange.lowerBound
            switch tensor.type {
            case .f32:
                for index in values.indices {
                    values[index] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                }
            case .f16:
                for index in values.indices {
                    values[index] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))))
                }
            case .bf16:
                for index in values.indices {
                    values[index] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))) << 16)
                }
            default:
                throw FileFormatError("\(url.path): tensor \(name) is \(tensor.type); reading its values needs the quantized kernels")
            }
        }
        return values
    }
}

/// The ggml tensor types GGUF files name (values as in ggml.h), with their block geometry.
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14
    case bf16 = 30

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: 256
        }
    }

    /// Bytes per block (ggml-common.h).
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        }
    }

    /// ggml's name: the weight type's for those swift-gpt computes with, else Q4_1, Q2_K, Q3_K.
    public var description: String {
        if let type = WeightType(rawValue: Int32(rawValue)) { return type.description }
        switch self {
        case .q4_1: return "Q4_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        default: return "type \(rawValue)"
        }
    }
}

/// A GGUF metadata value.
public indirect enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value as an Int when it is an integer that fits.
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var array: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }

    public var description: String {
        switch self {
        case .string(let s): s.debugDescription
        case .array(let a): "[\(a.count) values]"
        case .float32(let v): "\(v)"
        case .float64(let v): "\(v)"
        case .bool(let v): "\(v)"
        default: integer.map(String.init) ?? "?"
        }
    }

    /// GGUF's value type code.
    var typeCode: UInt32 {
        switch self {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }
}

/// Sequential, bounds-checked reads of GGUF's little-endian fields.
struct GGUFReader {
    let data: Data
    let name: String
    var offset = 0

    init(data: Data, name: String) {
        self.data = data
        self.name = name
    }

    func corrupt(_ problem: String) -> FileFormatError {
        FileFormatError("\(name) is corrupt: \(problem); re-download or re-convert it")
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= data.count else {
            throw FileFormatError("\(name) is truncated at byte \(offset) (\(data.count) bytes); re-download or re-convert it")
        }
        let value = data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += size
        return value
    }

    /// A uint64 count, checked to be at most `limit` (what the rest of the file could possibly hold).
    mutating func count(limit: Int, what: String) throws -> Int {
        let value = try integer(UInt64.self)
        guard let count = CheckedSize.count(value), count <= limit else {
            throw FileFormatError(
                "\(name) is truncated or corrupt: it claims \(value) \(what), more than its \(data.count) bytes can hold; re-download or re-convert it")
        }
        return count
    }

    mutating func string() throws -> String {
        let length = try count(limit: data.count - offset, what: "bytes in a string")
        guard offset + length <= data.count else { throw corrupt("a string runs past the end") }
        let text = String(decoding: data[(data.startIndex + offset)..<(data.startIndex + offset + length)], as: UTF8.self)
        offset += length
        return text
    }

    mutating func value(type: UInt32, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try integer(UInt8.self))
        case 1: return .int8(try integer(Int8.self))
        case 2: return .uint16(try integer(UInt16.self))
        case 3: return .int16(try integer(Int16.self))
        case 4: return .uint32(try integer(UInt32.self))
        case 5: return .int32(try integer(Int32.self))
        case 6: return .float32(Float(bitPattern: try integer(UInt32.self)))
        case 7:
            let byte = try integer(UInt8.self)
            guard byte <= 1 else { throw corrupt("a boolean holds \(byte)") }
            return .bool(byte == 1)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw corrupt("arrays nest more than 4 deep") }
            let elementType = try integer(UInt32.self)
            let count = try self.count(limit: data.count - offset, what: "array elements")
            var values: [GGUFValue] = []
            values.reserveCapacity(min(count, 1 << 20))
            for _ in 0..<count { values.append(try value(type: elementType, depth: depth + 1)) }
            return .array(values)
        case 10: return .uint64(try integer(UInt64.self))
        case 11: return .int64(try integer(Int64.self))
        case 12: return .float64(Double(bitPattern: try integer(UInt64.self)))
        default: throw corrupt("a metadata value has unknown type \(type)")
        }
    }
}
