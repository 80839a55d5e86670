import Foundation

/// A message read from a topic partition.
public struct BusMessage: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// The producer's (or broker's) timestamp, when the broker reports one.
    public var timestamp: Date?

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], timestamp: Date?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }

    /// The key as UTF-8 text, when there is a key.
    public var keyString: String? {
        key.map { String(decoding: $0, as: UTF8.self) }
    }

    public var topicPartition: TopicPartition {
        TopicPartition(topic: topic, partition: partition)
    }
}
