import Foundation

/// Sizes read from files or flags, computed without overflow: every reader (safetensors, token
/// files, word vectors) and every configuration check goes through here, so that an absurd header
/// or value becomes an error message instead of a trap or a huge allocation.
public enum CheckedSize {
    /// The product of `factors` when all are non-negative and it fits in an Int, else nil.
    public static func product<S: Sequence>(_ factors: S) -> Int? where S.Element == Int {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (value, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = value
        }
        return result
    }

    public static func product(_ factors: Int...) -> Int? { product(factors) }

    /// The sum of `terms` when all are non-negative and it fits in an Int, else nil.
    public static func sum(_ terms: Int...) -> Int? {
        var result = 0
        for term in terms {
            guard term >= 0 else { return nil }
            let (value, overflow) = result.addingReportingOverflow(term)
            guard !overflow else { return nil }
            result = value
        }
        return result
    }

    /// An unsigned count from a file header as an Int, or nil when it does not fit.
    public static func count<T: BinaryInteger>(_ value: T) -> Int? {
        Int(exactly: value).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// A JSON number (as JSONSerialization gives it) as an exact integer: nil for fractions (1.5),
    /// booleans, strings and values beyond Int (1e30).
    public static func integer(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let type = String(cString: number.objCType)
        guard type != "c" else { return nil }  // a boolean
        if ["q", "l", "i", "s"].contains(type) { return Int(number.int64Value) }
        if ["Q", "L", "I", "S"].contains(type) { return Int(exactly: number.uint64Value) }
        let double = number.doubleValue
        guard double.isFinite, double.rounded() == double, abs(double) < 9.0e18 else { return nil }
        let integer = number.int64Value
        // Large integers lose precision as doubles: trust the integer value when it round-trips.
        return Double(integer) == double ? Int(integer) : nil
    }

    /// "1.5 GiB", "12 MiB" for messages.
    public static func describe(bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : (value >= 10 ? "\(Int(value.rounded())) \(units[unit])" : "\(Double(Int(value * 10)) / 10) \(units[unit])")
    }
}

/// JSON from files, checked before Foundation parses it: its parser recurses once per nesting level
/// and overflows the stack on a few hundred thousand `[`; no file we read nests beyond a handful.
public enum JSONInput {
    public static let maximumDepth = 64

    /// Whether `data` nests arrays and objects at most `maximumDepth` deep (brackets inside strings
    /// are not counted).
    public static func isShallow(_ data: Data) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth > maximumDepth { return false }
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return true
    }
}
