/// A setting outside what it may be, named by its owner and field (`SamplingParameters.topP must be in
/// (0, 1] (got 2.0)`), never by how one front end spells it: the command line maps the field to its flag
/// (`--top-p`), a server to its JSON key (`top_p`).
public struct InvalidValue: Error, CustomStringConvertible, Equatable, Sendable {
    /// The type the field belongs to.
    public let owner: String
    /// The Swift property name.
    public let field: String
    /// What the value must be, e.g. "must be in (0, 1]".
    public let rule: String
    /// The value given, as text (nil when the rule does not depend on one value).
    public let value: String?

    public init(owner: String, field: String, rule: String, value: String? = nil) {
        self.owner = owner
        self.field = field
        self.rule = rule
        self.value = value
    }

    public var description: String { describe(field: "\(owner).\(field)") }

    /// The message with the field spelled as a front end spells it (a flag, a JSON key).
    public func describe(field name: String) -> String {
        "\(name) \(rule)" + (value.map { " (got \($0))" } ?? "")
    }
}

/// Collects the checks of one type's validator: `try Validator(owner: "X").require(cond, "field", "rule", value)`.
public struct Validator: Sendable {
    public let owner: String

    public init(owner: String) {
        self.owner = owner
    }

    /// Throws `InvalidValue` for `field` unless `condition` holds.
    public func require(_ condition: Bool, _ field: String, _ rule: String, _ value: (any Sendable)? = nil) throws {
        guard !condition else { return }
        throw InvalidValue(owner: owner, field: field, rule: rule, value: value.map { "\($0)" })
    }
}
