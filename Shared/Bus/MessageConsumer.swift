/// One member of a consumer group. Offsets are committed only by ``commit(_:)``; anything not
/// committed is delivered again to whichever member owns the partition next (at-least-once).
public protocol MessageConsumer: AnyObject, Sendable {
    /// Waits up to `timeout` for messages and returns those available, at most `maxMessages`;
    /// possibly none. Throws ``BusError`` with code `.closed` after ``close()``.
    func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage]

    /// Commits, synchronously, offset + 1 of the highest offset per partition among `messages`.
    /// Fails (code `.commitFailed`) when the group rebalanced and the partition went elsewhere.
    func commit(_ messages: [BusMessage]) async throws

    /// Leaves the group cleanly, so its partitions move to the other members at once.
    func close() async

    /// The partitions currently assigned to this member.
    func assignment() async throws -> [TopicPartition]

    /// The consumer as an `AsyncSequence` of non-empty batches; it ends when the consumer is
    /// closed or the iterating task is cancelled.
    var batches: MessageBatches { get }
}

extension MessageConsumer {
    public var batches: MessageBatches {
        MessageBatches(consumer: self)
    }

    /// Batches of at most `maxMessages`, polling with `pollTimeout`.
    public func batches(maxMessages: Int, pollTimeout: Duration) -> MessageBatches {
        MessageBatches(consumer: self, maxMessages: maxMessages, pollTimeout: pollTimeout)
    }
}
