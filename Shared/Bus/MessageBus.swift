/// Publishes messages, creates topics and hands out consumers. ``KafkaBus`` talks to a broker;
/// ``InMemoryBus`` has the same semantics inside one process, for tests of service logic.
public protocol MessageBus: AnyObject, Sendable {
    /// Creates a topic with `partitions` partitions. A topic that already exists is not an error
    /// (its partition count is left as it is).
    func createTopic(_ name: String, partitions: Int) async throws

    /// Publishes the messages and returns only after the broker acknowledged every one of them;
    /// throws a ``BusError`` (code `.deliveryFailed` or `.brokerUnavailable`) otherwise. Messages
    /// with the same key and topic are stored in the order given.
    func send(_ messages: [OutgoingMessage]) async throws

    /// A consumer in consumer group `group`: the group's members share the topics' partitions, and
    /// each starts where the group last committed (or at the earliest message).
    func makeConsumer(topics: [String], group: String) throws -> any MessageConsumer

    /// The number of partitions of a topic, or nil when it does not exist.
    func partitionCount(of topic: String) async throws -> Int?

    /// The group's committed offset, the end of the log and the lag for each partition of `topic`
    /// (empty when the topic does not exist). For status tools; never needed for correctness.
    func consumerLag(group: String, topic: String) async throws -> [PartitionLag]
}
