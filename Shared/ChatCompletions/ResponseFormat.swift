/// What a request asks the endpoint to constrain its reply to (the request's `response_format`).
///
/// The client sends the strongest format that both the request asks for and the endpoint is known
/// to accept: `json_schema` > `json_object` > `text` (no `response_format` at all). An endpoint that
/// answers 400 or 422 naming `response_format` or `json_schema` is asked again at once with the next
/// weaker format, and the client remembers that for every later request
/// (``ChatCompletionsClient/acceptedResponseFormat``).
public enum ResponseFormat: Sendable, Equatable {
    /// No constraint: the field is left out of the request.
    case text
    /// `{"type": "json_object"}`: any JSON object.
    case jsonObject
    /// `{"type": "json_schema", "json_schema": {"name", "strict", "schema"}}`.
    case jsonSchema(name: String, schema: JSONSchema, strict: Bool = true)

    /// The three strengths, by the name the request's `type` field uses; also the setting
    /// `CDRA_LLM_RESPONSE_FORMAT` (the strongest format the client will send).
    public enum Kind: String, Sendable, Equatable, Comparable, CaseIterable {
        case text
        case jsonObject = "json_object"
        case jsonSchema = "json_schema"

        var strength: Int {
            switch self {
            case .text: return 0
            case .jsonObject: return 1
            case .jsonSchema: return 2
            }
        }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.strength < rhs.strength }

        /// The next weaker kind; nil for `text`.
        var weaker: Kind? {
            switch self {
            case .jsonSchema: return .jsonObject
            case .jsonObject: return .text
            case .text: return nil
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .text: return .text
        case .jsonObject: return .jsonObject
        case .jsonSchema: return .jsonSchema
        }
    }

    /// This format weakened to at most `kind` (a schema becomes a plain JSON object).
    func limited(to kind: Kind) -> ResponseFormat {
        if self.kind <= kind { return self }
        return kind == .jsonObject ? .jsonObject : .text
    }

    /// The `response_format` member as JSON text, nil for `text`. Written by hand because the
    /// schema's property order must survive (JSONSerialization does not keep key order).
    var requestFieldJSON: String? {
        switch self {
        case .text: return nil
        case .jsonObject: return "{\"type\":\"json_object\"}"
        case let .jsonSchema(name, schema, strict):
            return "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\(JSONSchema.quoted(name)),"
                + "\"strict\":\(strict),\"schema\":\(schema.jsonText)}}"
        }
    }
}
