import Foundation

/// Where a consumed event came from: its id and its Kafka position. What `processed_events`
/// records for every event a consumer applied.
public struct EventReference: Sendable, Hashable {
    public var eventID: UUID
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(eventID: UUID, topic: String, partition: Int32, offset: Int64) {
        self.eventID = eventID
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
