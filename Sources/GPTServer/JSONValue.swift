import Foundation

/// Any JSON value, decoded without a schema so that every field can be checked by hand and a bad
/// one named in the error (a `Decodable` struct would only say that decoding failed).
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A request body's top-level object, read field by field: each reader names the field and what
/// it must be when the value is of the wrong type or out of range (a 400 for the client).
struct JSONFields {
    let values: [String: JSONValue]
    /// Prefix of field names in messages ("messages[2].").
    let path: String

    init(_ values: [String: JSONValue], path: String = "") {
        self.values = values
        self.path = path
    }

    /// Parses a request body; anything but a JSON object is a 400.
    init(body: Data) throws {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw APIError.badRequest("the request body must be a JSON object, not \(value.typeName)")
        }
        self.init(object)
    }

    func has(_ name: String) -> Bool {
        if let value = values[name], value != .null { return true }
        return false
    }

    func wrongType(_ name: String, _ expected: String) -> APIError {
        APIError.badRequest("'\(path)\(name)' must be \(expected), not \(values[name]?.typeName ?? "missing")", param: path + name)
    }

    func outOfRange(_ name: String, _ rule: String) -> APIError {
        APIError.badRequest("'\(path)\(name)' \(rule)", param: path + name)
    }

    func string(_ name: String) throws -> String? {
        guard has(name) else { return nil }
        guard case .string(let value) = values[name] else { throw wrongType(name, "a string") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard has(name) else { return nil }
        guard case .bool(let value) = values[name] else { throw wrongType(name, "true or false") }
        return value
    }

    func number(_ name: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard has(name) else { return nil }
        guard case .number(let value) = values[name], value.isFinite else { throw wrongType(name, "a number") }
        if let range, !range.contains(value) {
            throw outOfRange(name, "must be between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound)), not \(Self.format(value))")
        }
        return value
    }

    func integer(_ name: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard has(name) else { return nil }
        guard case .number(let value) = values[name], value.isFinite, value == value.rounded(), abs(value) < 9e15 else {
            throw wrongType(name, "an integer")
        }
        let integer = Int(value)
        if let range, !range.contains(integer) {
            throw outOfRange(name, "must be between \(range.lowerBound) and \(range.upperBound), not \(integer)")
        }
        return integer
    }

    func object(_ name: String) throws -> JSONFields? {
        guard has(name) else { return nil }
        guard case .object(let value) = values[name] else { throw wrongType(name, "an object") }
        return JSONFields(value, path: path + name + ".")
    }

    /// A string or an array of strings (`stop`).
    func strings(_ name: String) throws -> [String]? {
        guard has(name) else { return nil }
        switch values[name] {
        case .string(let value): return [value]
        case .array(let items):
            return try items.map { item in
                guard case .string(let value) = item else { throw wrongType(name, "a string or an array of strings") }
                return value
            }
        default: throw wrongType(name, "a string or an array of strings")
        }
    }

    /// Rejects fields this server does not implement (instead of silently ignoring them).
    func reject(_ names: [String: String]) throws {
        for (name, reason) in names.sorted(by: { $0.key < $1.key }) where has(name) {
            throw APIError.badRequest("'\(path)\(name)' is not supported: \(reason)", param: path + name)
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }

    static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    static func float(_ value: Float) -> JSONValue { value.isFinite ? .number(Double(value)) : .number(-9999) }

    /// Compact JSON with sorted keys.
    var encoded: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }
}
