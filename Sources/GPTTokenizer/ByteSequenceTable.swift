/// An open-addressing hash table from byte sequences to an Int32 value, with all keys
/// stored in one contiguous pool: lookups take a raw buffer and allocate nothing.
struct ByteSequenceTable: Sendable {
    private var pool: [UInt8] = []
    /// Per slot: key offset in `pool` (−1 = empty), key length, value.
    private var offsets: [Int32]
    private var lengths: [Int32]
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        offsets = [Int32](repeating: -1, count: size)
        lengths = [Int32](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bytes.count)
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            hash = (hash ^ word) &* 0x0000_0100_0000_01B3
            hash ^= hash >> 29
            index += 8
        }
        while index < count {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
            index += 1
        }
        hash ^= hash >> 32
        hash = hash &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }

    /// The value stored for `key`, or nil.
    @inline(__always)
    func value(for key: UnsafeRawBufferPointer) -> Int32? {
        var slot = Self.hash(key) & mask
        return pool.withUnsafeBytes { pool in
            while true {
                let offset = offsets[slot]
                if offset < 0 { return nil }
                if Int(lengths[slot]) == key.count && Self.equal(pool.baseAddress! + Int(offset), key) {
                    return values[slot]
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func value(for key: [UInt8]) -> Int32? {
        key.withUnsafeBytes { value(for: $0) }
    }

    /// Byte equality; short keys (most tokens) compare inline instead of through memcmp.
    @inline(__always)
    static func equal(_ stored: UnsafeRawPointer, _ key: UnsafeRawBufferPointer) -> Bool {
        let count = key.count
        if count > 16 { return memcmp(stored, key.baseAddress!, count) == 0 }
        var index = 0
        while index + 8 <= count {
            if stored.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                != key.loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
            index += 8
        }
        while index < count {
            if stored.load(fromByteOffset: index, as: UInt8.self) != key[index] { return false }
            index += 1
        }
        return true
    }

    /// Stores `value` for `key` (replacing an existing value).
    mutating func set(_ key: UnsafeRawBufferPointer, _ value: Int32) {
        if (count + 1) * 2 > offsets.count { grow() }
        var slot = Self.hash(key) & mask
        while offsets[slot] >= 0 {
            let offset = Int(offsets[slot])
            if Int(lengths[slot]) == key.count && pool[offset..<(offset + key.count)].elementsEqual(key) {
                values[slot] = value
                return
            }
            slot = (slot + 1) & mask
        }
        offsets[slot] = Int32(pool.count)
        lengths[slot] = Int32(key.count)
        values[slot] = value
        pool.append(contentsOf: key)
        count += 1
    }

    mutating func set(_ key: [UInt8], _ value: Int32) {
        key.withUnsafeBytes { set($0, value) }
    }

    private mutating func grow() {
        let old = (offsets, lengths, values)
        let size = offsets.count * 2
        offsets = [Int32](repeating: -1, count: size)
        lengths = [Int32](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
        for slot in old.0.indices where old.0[slot] >= 0 {
            var target = pool.withUnsafeBytes {
                Self.hash(UnsafeRawBufferPointer(rebasing: $0[Int(old.0[slot])..<(Int(old.0[slot]) + Int(old.1[slot]))]))
            } & mask
            while offsets[target] >= 0 { target = (target + 1) & mask }
            offsets[target] = old.0[slot]
            lengths[target] = old.1[slot]
            values[target] = old.2[slot]
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
