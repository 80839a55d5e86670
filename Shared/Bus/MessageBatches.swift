/// The batches of a ``MessageConsumer`` as an `AsyncSequence`: `for try await batch in consumer.batches`.
///
/// Yields only non-empty batches. Ends (returns nil) when the consumer is closed or the task is
/// cancelled; other consumer errors are thrown. Committing stays the caller's job.
public struct MessageBatches: AsyncSequence, Sendable {
    public typealias Element = [BusMessage]

    public let consumer: any MessageConsumer
    /// Default: 500
    public var maxMessages: Int
    /// How long one poll waits; also how quickly cancellation is noticed.
    /// Default: 200 ms
    public var pollTimeout: Duration

    public init(consumer: any MessageConsumer, maxMessages: Int = 500, pollTimeout: Duration = .milliseconds(200)) {
        precondition(maxMessages > 0, "maxMessages must be positive")
        self.consumer = consumer
        self.maxMessages = maxMessages
        self.pollTimeout = pollTimeout
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, maxMessages: maxMessages, pollTimeout: pollTimeout)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: any MessageConsumer
        let maxMessages: Int
        let pollTimeout: Duration

        public mutating func next() async throws -> [BusMessage]? {
            while !Task.isCancelled {
                let batch: [BusMessage]
                do {
                    batch = try await consumer.poll(maxMessages: maxMessages, timeout: pollTimeout)
                } catch let error as BusError where error.code == .closed {
                    return nil
                }
                if !batch.isEmpty { return batch }
            }
            return nil
        }
    }
}
