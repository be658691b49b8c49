import Foundation

/// Writes a GGUF v3 file: metadata in the order given, tensor infos, padding to `alignment`, then
/// each tensor's bytes at an aligned offset. Written atomically.
public struct GGUFWriter {
    public struct Tensor {
        public let name: String
        /// ggml's `ne`: fastest-varying dimension first.
        public let dimensions: [Int]
        public let type: GGMLType
        /// The tensor's bytes in ggml's layout for `type`.
        public let bytes: Data

        public init(name: String, dimensions: [Int], type: GGMLType, bytes: Data) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
            self.bytes = bytes
        }

        /// An F32 tensor from Floats in ggml's order.
        public static func float32(_ name: String, dimensions: [Int], values: [Float]) -> Tensor {
            Tensor(name: name, dimensions: dimensions, type: .f32, bytes: values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) })
        }
    }

    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [Tensor] = []
    public var alignment = GGUFFile.defaultAlignment

    public init() {}

    public func write(to url: URL) throws {
        var header = Data()
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) } }
        func put(_ string: String) {
            put(UInt64(string.utf8.count))
            header.append(contentsOf: Array(string.utf8))
        }
        func put(_ value: GGUFValue) {
            switch value {
            case .uint8(let v): put(v)
            case .int8(let v): put(v)
            case .uint16(let v): put(v)
            case .int16(let v): put(v)
            case .uint32(let v): put(v)
            case .int32(let v): put(v)
            case .uint64(let v): put(v)
            case .int64(let v): put(v)
            case .float32(let v): put(v.bitPattern)
            case .float64(let v): put(v.bitPattern)
            case .bool(let v): put(UInt8(v ? 1 : 0))
            case .string(let v): put(v)
            case .array(let values):
                put(values.first?.typeCode ?? 0)
                put(UInt64(values.count))
                for element in values { put(element) }
            }
        }
        header.append(contentsOf: GGUFFile.magic)
        put(UInt32(3))
        put(UInt64(tensors.count))
        put(UInt64(metadata.count))
        for (key, value) in metadata {
            put(key)
            put(value.typeCode)
            put(value)
        }
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            let elements = tensor.dimensions.reduce(1, *)
            precondition(tensor.bytes.count == elements / tensor.type.blockSize * tensor.type.blockBytes, "GGUFWriter: \(tensor.name) has the wrong byte count")
            put(tensor.name)
            put(UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { put(UInt64(dimension)) }
            put(tensor.type.rawValue)
            put(UInt64(offset))
            offsets.append(offset)
            offset = (offset + tensor.bytes.count + alignment - 1) / alignment * alignment
        }
        header.append(contentsOf: [UInt8](repeating: 0, count: (alignment - header.count % alignment) % alignment))
        try AtomicFile.write(to: url) { write in
            try header.withUnsafeBytes { try write($0) }
            var written = 0
            for (tensor, start) in zip(tensors, offsets) {
                let padding = [UInt8](repeating: 0, count: start - written)
                try padding.withUnsafeBytes { try write($0) }
                try tensor.bytes.withUnsafeBytes { try write($0) }
                written = start + tensor.bytes.count
            }
        }
    }
}
