import Foundation

/// One JSON object on one line, keys sorted, for `--json` output. JSON has no infinity or NaN: such
/// numbers (an infinite perplexity, a -inf log-probability) are written as null, never as an error.
enum JSONLine {
    static func encode(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: finite(object), options: [.sortedKeys]), as: UTF8.self)
    }

    private static func finite(_ value: Any) -> Any {
        switch value {
        case let number as Double: return number.isFinite ? number : NSNull()
        case let number as Float: return number.isFinite ? Double(number) : NSNull()
        case let object as [String: Any]: return object.mapValues(finite)
        case let array as [Any]: return array.map(finite)
        default: return value
        }
    }
}
