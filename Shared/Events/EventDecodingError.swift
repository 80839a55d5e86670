import Resilience

/// Why bytes could not be turned into an event. Never retriable: the same bytes fail again, so a
/// consumer dead-letters the message with ``reason``.
public struct EventDecodingError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case oversized            // larger than the codec's maxEventBytes
        case malformedJSON        // not a JSON object
        case missingEnvelopeField // an envelope field is missing or has the wrong type
        case unknownType          // the envelope's type is not in the registry
        case unsupportedVersion   // known type, schema version this build cannot read
        case typeMismatch         // decoded as a specific payload type, but the envelope says another
        case invalidPayload       // a payload field is missing, has the wrong type or an invalid value
    }
    public var code: Code
    /// Human-readable detail, safe to log and to store in a dead-letter record.
    public var reason: String
    public var isRetriable: Bool { false }

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
