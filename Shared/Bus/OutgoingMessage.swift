/// A message to publish: the key picks the partition, so messages with one key stay in order.
public struct OutgoingMessage: Sendable {
    public var topic: String
    /// Nil spreads messages over partitions without ordering.
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Kafka record headers, name and raw bytes.
    public var headers: [(String, [UInt8])]?

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [(String, [UInt8])]? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// A message keyed by a string, e.g. a query id.
    public init(topic: String, key: String, value: [UInt8]) {
        self.init(topic: topic, key: Array(key.utf8), value: value)
    }
}
