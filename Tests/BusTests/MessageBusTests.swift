import Bus
import Foundation
import Testing

@Suite("Message bus: produce, consume, topics")
struct MessageBusTests {
    @Test("messages round-trip with their keys, and one key's messages stay on one partition in order",
          arguments: BusKind.allCases)
    func roundTripKeepsKeysAndPerKeyOrder(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("roundtrip")
        try await bus.createTopic(topic, partitions: 3)
        let messages = (0..<300).map { i in
            OutgoingMessage(topic: topic, key: "key-\(i % 10)", value: Array("key-\(i % 10)#\(i)".utf8))
        }
        try await bus.send(messages)

        let consumer = try bus.makeConsumer(topics: [topic], group: uniqueName("group"))
        var received: [BusMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        for try await batch in consumer.batches(maxMessages: 64, pollTimeout: .milliseconds(200)) {
            received += batch
            if received.count >= 300 || ContinuousClock.now > deadline { break }
        }
        await consumer.close()

        #expect(received.count == 300)
        #expect(Set(received.map { text($0.value)! }) == Set(messages.map { text($0.value)! }))
        for message in received {
            // The value was built from the key: it must arrive under the same key.
            #expect(text(message.value)!.hasPrefix(message.keyString! + "#"))
            #expect(message.topic == topic)
            #expect(message.timestamp != nil)
        }
        let byKey = Dictionary(grouping: received, by: { $0.keyString! })
        #expect(byKey.count == 10)
        for (key, list) in byKey {
            #expect(Set(list.map(\.partition)).count == 1, "key \(key) spread over several partitions")
            let sequence = list.sorted { $0.offset < $1.offset }.map { Int(text($0.value)!.split(separator: "#")[1])! }
            #expect(sequence == sequence.sorted(), "key \(key) out of order: \(sequence)")
            // And in the order they were delivered, too.
            let delivered = list.map { Int(text($0.value)!.split(separator: "#")[1])! }
            #expect(delivered == sequence)
        }
        if kind == .kafka {
            // 10 keys over 3 partitions: the key hash must actually spread them.
            #expect(Set(received.map(\.partition)).count > 1)
        }
    }

    @Test("createTopic makes the requested partitions and is idempotent", arguments: BusKind.allCases)
    func topicCreationWithPartitions(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("partitions")
        #expect(try await bus.partitionCount(of: topic) == nil)
        try await bus.createTopic(topic, partitions: 5)
        #expect(try await bus.partitionCount(of: topic) == 5)
        try await bus.createTopic(topic, partitions: 5)  // exists: not an error
        #expect(try await bus.partitionCount(of: topic) == 5)
        await #expect(throws: BusError.self) { try await bus.createTopic(uniqueName("zero"), partitions: 0) }
    }

    @Test("a closed consumer's batch sequence ends and its poll throws .closed", arguments: BusKind.allCases)
    func closedConsumerEndsBatches(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("closing")
        try await bus.createTopic(topic, partitions: 1)
        let consumer = try bus.makeConsumer(topics: [topic], group: uniqueName("group"))
        let iteration = Task {
            var batches = 0
            for try await _ in consumer.batches { batches += 1 }
            return batches
        }
        try await Task.sleep(for: .milliseconds(300))
        await consumer.close()
        #expect(try await iteration.value == 0)
        await #expect {
            _ = try await consumer.poll(maxMessages: 1, timeout: .milliseconds(10))
        } throws: { ($0 as? BusError)?.code == .closed }
    }
}
