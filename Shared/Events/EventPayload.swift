import Foundation

/// A payload type that travels inside an ``EventEnvelope``.
///
/// Every conforming type has exactly one Avro schema file,
/// `Schemas/events/<eventType>.v<schemaVersion>.avsc`, and is listed in ``EventRegistry/all``.
public protocol EventPayload: Codable, Sendable, Equatable {
    /// The envelope's `type` field, e.g. `"query_submitted"`.
    static var eventType: String { get }
    /// The schema version this Swift type encodes and decodes.
    static var schemaVersion: Int { get }
    /// The topic this event is published on by default, e.g. `"deeppref.queries.v1"`.
    static var defaultTopic: String { get }
    /// Problems with field values that the JSON shape cannot express (empty ids, scores out of
    /// range); empty when the payload is valid. ``EventCodec`` rejects payloads with problems.
    func validationProblems() -> [String]
    /// The Kafka message key that keeps the ordering that matters for this event (see
    /// Docs/events.md); nil sends the message without a key.
    var partitionKey: String? { get }
}

extension EventPayload {
    public func validationProblems() -> [String] { [] }
    public var partitionKey: String? { nil }
}
