import Foundation

/// The envelope every CDRA event travels in (DESIGN §3).
///
/// Wire form (JSON): `{"event_id", "type", "schema_version", "produced_at", "producer",
/// "correlation_id", "payload"}`; `produced_at` is RFC 3339 with fractional seconds, UTC.
public struct EventEnvelope<Payload: EventPayload>: Codable, Sendable, Equatable {
    /// Unique per event; every consumer write is idempotent by this id.
    public var eventID: UUID
    public var type: String
    public var schemaVersion: Int
    public var producedAt: Date
    /// The service or tool that produced the event, e.g. `"cdra-cli"`.
    public var producer: String
    /// Ties the events of one request or run together; nil when there is none.
    public var correlationID: String?
    public var payload: Payload

    public init(
        payload: Payload, producer: String, correlationID: String? = nil,
        eventID: UUID = UUID(), producedAt: Date = Date()
    ) {
        self.eventID = eventID
        self.type = Payload.eventType
        self.schemaVersion = Payload.schemaVersion
        self.producedAt = producedAt
        self.producer = producer
        self.correlationID = correlationID
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case type
        case schemaVersion = "schema_version"
        case producedAt = "produced_at"
        case producer
        case correlationID = "correlation_id"
        case payload
    }
}
