import Events
import Foundation

/// The record published to `<topic>.dlq` for a message a consumer could not process: where it came
/// from, why it failed, and its original bytes. Keyed by the original message's key.
///
/// Wire form (JSON): `{"source_topic", "partition", "offset", "key_base64", "value_base64",
/// "value_truncated", "original_size", "reason", "code", "consumer_group", "failed_at"}`, plus
/// `"undelivered_topic"` and `"undelivered_value_base64"` when the consumer handled the message
/// but could not deliver what it produced in answer (a reply to a topic that does not exist).
public struct DeadLetter: Codable, Sendable, Equatable {
    public var sourceTopic: String
    public var partition: Int32
    public var offset: Int64
    /// The original key, base64; nil when the message had none.
    public var keyBase64: String?
    /// The original value, base64 (its first ``EventProcessorConfiguration/deadLetterMaxValueBytes``
    /// bytes when ``valueTruncated``).
    public var valueBase64: String
    public var valueTruncated: Bool
    /// Size of the original value in bytes.
    public var originalSize: Int
    /// Why the message failed, e.g. "missing required field 'payload.question'".
    public var reason: String
    /// An ``EventDecodingError/Code`` raw value (`malformedJSON`, `unknownType`, ...) or
    /// `handlerFailed` when the handler rejected a well-formed event.
    public var code: String
    public var consumerGroup: String
    public var failedAt: Date
    /// Where the message the consumer produced in answer should have gone; nil unless that
    /// message could not be delivered.
    public var undeliveredTopic: String?
    /// That message's value, base64 (not truncated: it is the consumer's own event, within the
    /// event size limit).
    public var undeliveredValueBase64: String?

    /// The code used when the handler, not the decoder, rejected the event.
    public static let handlerFailedCode = "handlerFailed"
    /// The code used when the message was handled but the answer the consumer produced could not be
    /// delivered (its topic does not exist); the answer is in ``undeliveredValue``.
    public static let undeliverableCode = "undeliverable"

    public init(message: BusMessage, reason: String, code: String, consumerGroup: String,
                maxValueBytes: Int = 512 * 1024, failedAt: Date = Date()) {
        sourceTopic = message.topic
        partition = message.partition
        offset = message.offset
        keyBase64 = message.key.map { Data($0).base64EncodedString() }
        valueTruncated = message.value.count > maxValueBytes
        valueBase64 = Data(message.value.prefix(maxValueBytes)).base64EncodedString()
        originalSize = message.value.count
        self.reason = String(reason.prefix(4000))
        self.code = code
        self.consumerGroup = consumerGroup
        self.failedAt = failedAt
    }

    /// The original key bytes.
    public var originalKey: [UInt8]? {
        keyBase64.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }

    /// The original value bytes (possibly truncated, see ``valueTruncated``).
    public var originalValue: [UInt8] {
        Data(base64Encoded: valueBase64).map { [UInt8]($0) } ?? []
    }

    /// The undelivered answer's bytes, when there is one.
    public var undeliveredValue: [UInt8]? {
        undeliveredValueBase64.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }

    /// The dead-letter topic of a topic.
    public static func topic(for source: String) -> String {
        source + ".dlq"
    }

    public func encoded() throws -> [UInt8] {
        [UInt8](try EventCodec.makeEncoder().encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws -> DeadLetter {
        try EventCodec.makeDecoder().decode(DeadLetter.self, from: Data(bytes))
    }

    enum CodingKeys: String, CodingKey {
        case sourceTopic = "source_topic", partition, offset
        case keyBase64 = "key_base64", valueBase64 = "value_base64"
        case valueTruncated = "value_truncated", originalSize = "original_size"
        case reason, code
        case consumerGroup = "consumer_group", failedAt = "failed_at"
        case undeliveredTopic = "undelivered_topic", undeliveredValueBase64 = "undelivered_value_base64"
    }
}
