import Foundation
import GPTTensor

/// A safetensors file: an 8-byte little-endian header length, a JSON header
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the raw little-endian tensor bytes. Read through a memory map.
public struct SafetensorsFile {
    public struct Tensor: Sendable, Equatable {
        public let dataType: String
        public let shape: [Int]
        /// Byte range within the data section.
        public let byteRange: Range<Int>
        /// The product of the shape (checked to fit when the file was read).
        public let elementCount: Int
    }

    public let url: URL
    public let tensors: [String: Tensor]
    public let metadata: [String: String]
    /// The file's bytes (mapped), kept alive while the tensors are read.
    private let bytes: MappedBytes
    private var data: Data { bytes.data }
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        try self.init(bytes: try MappedBytes(contentsOf: url, missing: "check the model directory path"), url: url)
    }

    /// Parses safetensors bytes given in memory (a fuzzer's); `url` names them in errors.
    public init(data: Data, url: URL) throws {
        try self.init(bytes: MappedBytes(copying: data), url: url)
    }

    private init(bytes: MappedBytes, url: URL) throws {
        self.bytes = bytes
        let data = bytes.data
        let name = url.path
        guard data.count >= 8 else {
            throw FileFormatError("\(name) is truncated (\(data.count) bytes): not a safetensors file; re-save the model")
        }
        var headerLength: UInt64 = 0
        for index in 0..<8 { headerLength |= UInt64(data[data.startIndex + index]) << (8 * UInt64(index)) }
        guard headerLength > 1, headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw FileFormatError("\(name) has a corrupt safetensors header (length \(headerLength)); re-save the model")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard JSONInput.isShallow(headerBytes), let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw FileFormatError("\(name) has a corrupt safetensors header (not a JSON object); re-save the model")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            func corrupt(_ problem: String) -> FileFormatError {
                FileFormatError("\(name): tensor '\(key)' \(problem); the file is corrupt, re-save the model")
            }
            guard let entry = value as? [String: Any], let dataType = entry["dtype"] as? String,
                let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any]
            else {
                throw corrupt("has a malformed header entry (it needs dtype, shape and data_offsets)")
            }
            let shape = shapeValues.compactMap(CheckedSize.integer)
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw corrupt("has shape \(shapeValues), not a list of non-negative integers")
            }
            let offsets = offsetValues.compactMap(CheckedSize.integer)
            guard offsets.count == 2, offsetValues.count == 2 else {
                throw corrupt("has data_offsets \(offsetValues), not two integers")
            }
            guard let width = Self.byteWidth(of: dataType) else {
                throw FileFormatError("\(name): tensor '\(key)' has unsupported dtype \(dataType) (F32, F16, BF16 are read)")
            }
            guard let elements = CheckedSize.product(shape), let bytes = CheckedSize.product(elements, width) else {
                throw corrupt("has shape \(shape), more elements than any file holds")
            }
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataSize else {
                throw FileFormatError(
                    "\(name) is truncated or corrupt: tensor '\(key)' lies outside the file's \(dataSize) data bytes; re-save the model")
            }
            guard offsets[1] - offsets[0] == bytes else {
                throw corrupt("has \(offsets[1] - offsets[0]) bytes for shape \(shape) (\(bytes) needed)")
            }
            guard offsets[0] % width == 0 else {
                throw corrupt("starts at byte \(offsets[0]), not a multiple of its \(width)-byte elements")
            }
            tensors[key] = Tensor(dataType: dataType, shape: shape, byteRange: offsets[0]..<offsets[1], elementCount: elements)
        }
        try Self.checkTiling(tensors, dataSize: dataSize, name: name)
        self.url = url
        self.tensors = tensors
        self.metadata = metadata
        self.dataStart = dataStart
    }

    /// The tensors must cover the data section exactly, in some order, as the format requires: no
    /// byte shared by two tensors (overlapping tensors would alias each other's weights), none
    /// belonging to no tensor, nothing after the last one.
    private static func checkTiling(_ tensors: [String: Tensor], dataSize: Int, name: String) throws {
        var expected = 0
        var previous = "the header"
        for (key, tensor) in tensors.sorted(by: { ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key) < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key) }) {
            let range = tensor.byteRange
            if range.lowerBound < expected {
                throw FileFormatError("\(name): tensors '\(previous)' and '\(key)' overlap (bytes \(range.lowerBound)..<\(expected)); the file is corrupt, re-save the model")
            }
            if range.lowerBound > expected {
                throw FileFormatError("\(name): data bytes \(expected)..<\(range.lowerBound) belong to no tensor; the file is corrupt, re-save the model")
            }
            expected = range.upperBound
            previous = key
        }
        if expected != dataSize {
            throw FileFormatError("\(name) has \(dataSize - expected) bytes after its last tensor; the file is corrupt or was appended to, re-save the model")
        }
    }

    private static func byteWidth(of dataType: String) -> Int? {
        switch dataType {
        case "F32": 4
        case "F16", "BF16": 2
        default: nil
        }
    }

    /// Copies tensor `name` as Floats into `destination` (which holds `elementCount` values).
    public func read(_ name: String, into destination: UnsafeMutablePointer<Float>) throws {
        guard let tensor = tensors[name] else {
            throw FileFormatError("\(url.path) has no tensor '\(name)'; the weights do not match config.json")
        }
        let count = tensor.elementCount
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress! + dataStart + tensor.byteRange.lowerBound
            switch tensor.dataType {
            case "F32":
                UnsafeMutableRawPointer(destination).copyMemory(from: base, byteCount: count * 4)
            case "F16":
                for index in 0..<count {
                    let bits = base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                    destination[index] = Float(Float16(bitPattern: UInt16(littleEndian: bits)))
                }
            default:  // BF16
                for index in 0..<count {
                    let bits = base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                    destination[index] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
                }
            }
        }
        // Copied: the file's pages need not stay resident beside the copy (loading a model then
        // peaks at the model's size, not twice it).
        let start = dataStart + tensor.byteRange.lowerBound
        bytes.releasePages(start..<(start + tensor.byteRange.count))
    }

    /// Tensor `name` as an array of Floats.
    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensors[name] else {
            throw FileFormatError("\(url.path) has no tensor '\(name)'")
        }
        var values = [Float](repeating: 0, count: tensor.elementCount)
        try values.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!) }
        return values
    }
}

/// One tensor to write: its name, shape and Float32 values.
public struct TensorRecord {
    public let name: String
    public let shape: [Int]
    public let values: UnsafeBufferPointer<Float>

    public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
        precondition(shape.reduce(1, *) == values.count, "TensorRecord \(name): shape and value count differ")
        self.name = name
        self.shape = shape
        self.values = values
    }
}

extension SafetensorsFile {
    /// Writes `tensors` (Float32, in the order given) atomically to `url`.
    public static func write(_ tensors: [TensorRecord], metadata: [String: String] = ["format": "pt"], to url: URL) throws {
        var header = "{\"__metadata__\":" + jsonObject(metadata)
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.values.count * 4
            header += ",\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        while (header.utf8.count % 8) != 0 { header += " " }
        var length = UInt64(header.utf8.count).littleEndian
        try AtomicFile.write(to: url) { write in
            try withUnsafeBytes(of: &length) { try write($0) }
            try Array(header.utf8).withUnsafeBytes { try write($0) }
            for tensor in tensors {
                try write(UnsafeRawBufferPointer(tensor.values))
            }
        }
    }

    private static func jsonObject(_ dictionary: [String: String]) -> String {
        "{" + dictionary.keys.sorted().map { "\(jsonString($0)):\(jsonString(dictionary[$0]!))" }.joined(separator: ",") + "}"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    private static func jsonString(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
