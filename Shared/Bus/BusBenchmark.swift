import Foundation

/// Raw bus throughput, for `make bench`-style commands (not a test: it asserts nothing about speed).
public enum BusBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var messages: Int
        public var valueBytes: Int
        public var partitions: Int
        /// Messages acknowledged by the broker per second (send returns only after acknowledgement).
        public var sendPerSecond: Double
        /// Messages consumed per second, from the first message received to the last.
        public var consumePerSecond: Double
        /// From creating the consumer to its first message: mostly the group join.
        public var firstMessageSeconds: Double

        public var description: String {
            String(format: "%d messages of %d B over %d partitions: send %.0f msg/s (acknowledged), consume %.0f msg/s, first message after %.2f s",
                   messages, valueBytes, partitions, sendPerSecond, consumePerSecond, firstMessageSeconds)
        }
    }

    /// Sends `count` keyed messages to a new topic in chunks (`concurrentSends` in flight), then
    /// reads them all back through a new consumer group.
    public static func produceConsume(bus: any MessageBus, count: Int = 100_000, valueBytes: Int = 256,
                                      partitions: Int = 4, chunk: Int = 5_000, concurrentSends: Int = 4) async throws -> Result {
        precondition(count > 0 && valueBytes >= 0 && chunk > 0 && concurrentSends > 0, "invalid benchmark parameters")
        let topic = "bus-bench.\(UUID().uuidString.prefix(8).lowercased())"
        try await bus.createTopic(topic, partitions: partitions)
        let payload = (0..<valueBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

        let sendStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func addChunk() {
                let range = next..<min(next + chunk, count)
                next = range.upperBound
                group.addTask {
                    try await bus.send(range.map { OutgoingMessage(topic: topic, key: "k-\($0)", value: payload) })
                }
            }
            for _ in 0..<concurrentSends where next < count { addChunk() }
            while try await group.next() != nil {
                if next < count { addChunk() }
            }
        }
        let sendSeconds = (ContinuousClock.now - sendStart).seconds

        let consumer = try bus.makeConsumer(topics: [topic], group: topic + ".reader")
        let joinStart = ContinuousClock.now
        var firstMessage: ContinuousClock.Instant?
        var received = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while received < count {
            guard ContinuousClock.now < deadline else {
                await consumer.close()
                throw BusError(.consumeFailed, "benchmark read \(received) of \(count) messages in 120 s", isRetriable: false)
            }
            let batch = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
            if !batch.isEmpty && firstMessage == nil { firstMessage = .now }
            received += batch.count
        }
        let consumeEnd = ContinuousClock.now
        await consumer.close()
        let first = firstMessage ?? consumeEnd
        return Result(messages: count, valueBytes: valueBytes, partitions: partitions,
                      sendPerSecond: Double(count) / max(sendSeconds, 1e-9),
                      consumePerSecond: Double(count) / max((consumeEnd - first).seconds, 1e-9),
                      firstMessageSeconds: (first - joinStart).seconds)
    }
}
