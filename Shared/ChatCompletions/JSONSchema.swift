/// The part of JSON Schema that structured-output requests use, in the form OpenAI's strict mode
/// accepts: every object lists all its properties as required and allows no others (a field that
/// may be absent is nullable instead). Objects keep their property order, because a constrained
/// decoder writes the fields in the order the schema lists them: a critique before its score, the
/// steps before the final score.
public indirect enum JSONSchema: Sendable, Equatable {
    case object([Property])
    case array(items: JSONSchema, minItems: Int? = nil, maxItems: Int? = nil)
    /// `allowed`: the only values permitted (an `enum`), when given.
    case string(minLength: Int? = nil, maxLength: Int? = nil, allowed: [String]? = nil)
    /// A string or null.
    case nullableString(maxLength: Int? = nil)
    case number(minimum: Double? = nil, maximum: Double? = nil)
    case boolean

    public struct Property: Sendable, Equatable {
        public var name: String
        public var schema: JSONSchema

        public init(_ name: String, _ schema: JSONSchema) {
            self.name = name
            self.schema = schema
        }
    }

    /// The schema as JSON text, properties in the order given.
    public var jsonText: String {
        switch self {
        case .object(let properties):
            let members = properties.map { "\(Self.quoted($0.name)):\($0.schema.jsonText)" }.joined(separator: ",")
            let required = properties.map { Self.quoted($0.name) }.joined(separator: ",")
            return "{\"type\":\"object\",\"properties\":{\(members)},\"required\":[\(required)],\"additionalProperties\":false}"
        case let .array(items, minItems, maxItems):
            var text = "{\"type\":\"array\",\"items\":\(items.jsonText)"
            if let minItems { text += ",\"minItems\":\(minItems)" }
            if let maxItems { text += ",\"maxItems\":\(maxItems)" }
            return text + "}"
        case let .string(minLength, maxLength, allowed):
            var text = "{\"type\":\"string\""
            if let allowed { text += ",\"enum\":[\(allowed.map(Self.quoted).joined(separator: ","))]" }
            if let minLength { text += ",\"minLength\":\(minLength)" }
            if let maxLength { text += ",\"maxLength\":\(maxLength)" }
            return text + "}"
        case .nullableString(let maxLength):
            var text = "{\"type\":[\"string\",\"null\"]"
            if let maxLength { text += ",\"maxLength\":\(maxLength)" }
            return text + "}"
        case let .number(minimum, maximum):
            var text = "{\"type\":\"number\""
            if let minimum { text += ",\"minimum\":\(Self.number(minimum))" }
            if let maximum { text += ",\"maximum\":\(Self.number(maximum))" }
            return text + "}"
        case .boolean:
            return "{\"type\":\"boolean\"}"
        }
    }

    // MARK: - JSON text

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `1`, `-1`, `0.1`: integers without a fraction, others in Swift's shortest exact form.
    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
