import Events
import Foundation
import Logging
import Resilience

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

    /// Sends `count` `QuerySubmitted` events, then runs an ``EventProcessor`` with a handler that
    /// only counts, and returns events per second through decode, handler and commit (from the first
    /// event handled to the last, so the group join is excluded).
    public static func eventProcessorThroughput(bus: any MessageBus, count: Int = 50_000, partitions: Int = 4,
                                                logger: Logger = Logger(label: "bus-benchmark")) async throws -> Double {
        precondition(count > 0, "count must be positive")
        let topic = "bus-bench.events.\(UUID().uuidString.prefix(8).lowercased())"
        try await bus.createTopic(topic, partitions: partitions)
        let codec = EventCodec()
        let profile = UserProfile(profileID: "bench", statedPreference: "I prefer short answers", riskTolerance: "low")
        for start in stride(from: 0, to: count, by: 10_000) {
            let messages = try (start..<min(start + 10_000, count)).map { i in
                let event = EventEnvelope(payload: QuerySubmitted(queryID: "q-\(i)", profile: profile,
                                                                  question: "How should I plan item \(i) without constant check-ins?"),
                                          producer: "bus-benchmark")
                return OutgoingMessage(topic: topic, key: "q-\(i)", value: try codec.encode(event))
            }
            try await bus.send(messages)
        }
        let progress = Locked<(handled: Int, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((0, nil, nil))
        let processor = EventProcessor<QuerySubmitted>(bus: bus, topic: topic, group: topic + ".reader", logger: logger) { events in
            progress.withLock { state in
                if state.first == nil { state.first = .now }
                state.handled += events.count
                state.last = .now
            }
        }
        let running = Task { try await processor.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while progress.current.handled < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        running.cancel()
        try await running.value
        let state = progress.current
        guard state.handled >= count, let first = state.first, let last = state.last else {
            throw BusError(.consumeFailed, "benchmark handled \(state.handled) of \(count) events in 120 s", isRetriable: false)
        }
        // The first batch's own events are not timed (the clock starts when it arrives).
        return Double(count) / max((last - first).seconds, 1e-9)
    }
}
