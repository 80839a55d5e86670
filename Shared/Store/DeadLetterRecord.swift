import Foundation

/// A message a consumer could not process, as kept in `dead_letters` next to its `*.dlq` record.
public struct DeadLetterRecord: Sendable, Equatable {
    public var consumer: String
    public var sourceTopic: String
    public var partition: Int32?
    public var offset: Int64?
    public var key: [UInt8]?
    /// The original message bytes, unmodified.
    public var message: [UInt8]
    /// Why it was rejected; safe to show operators.
    public var reason: String
    /// A machine-readable code, e.g. an `EventDecodingError` code such as `unknownType`.
    public var errorCode: String?

    public init(consumer: String, sourceTopic: String, partition: Int32? = nil, offset: Int64? = nil,
                key: [UInt8]? = nil, message: [UInt8], reason: String, errorCode: String? = nil) {
        self.consumer = consumer
        self.sourceTopic = sourceTopic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.message = message
        self.reason = reason
        self.errorCode = errorCode
    }
}
