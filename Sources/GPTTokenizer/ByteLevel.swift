/// GPT-2's reversible mapping between bytes and printable characters, used in its
/// `encoder.json` / `vocab.bpe` files: printable Latin-1 bytes stand for themselves,
/// the other 68 bytes map to U+0100 and up (a space becomes "Ġ", a newline "Ċ").
public enum ByteLevel {
    /// byteToScalar[b] is the character that stands for byte b.
    public static let byteToScalar: [Unicode.Scalar] = {
        var printable = Set<UInt8>()
        for range in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] {
            for byte in range { printable.insert(UInt8(byte)) }
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0...255 {
            if printable.contains(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `byteToScalar`.
    public static let scalarToByte: [Unicode.Scalar: UInt8] = {
        var table: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { table[scalar] = UInt8(byte) }
        return table
    }()

    /// The printable string that stands for `bytes`.
    public static func string(for bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(byteToScalar[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a printable string stands for, or nil if it has a character outside the mapping.
    public static func bytes(for string: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            guard let byte = scalarToByte[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
