import Bus
import Events
import Foundation
import Logging
import Testing

@Suite("Exactly-once effect at the bus level")
struct ExactlyOnceEffectTests {
    @Test("10,000 events through a group of two processors, one crashing mid-stream: every id handled, duplicates only from uncommitted batches",
          arguments: BusKind.allCases)
    func crashAndReplacementLoseNothing(kind: BusKind) async throws {
        let total = 10_000
        let bus = try kind.makeBus()
        let topic = uniqueName("exactly-once"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 4)
        let log = DeliveryLog()
        let handled = Box<[UUID: Int]>([:])   // event id -> times handled (the idempotent store counts 1)
        let handledByA = Box(0)
        let outOfOrder = Box(0)
        var configuration = EventProcessorConfiguration()
        configuration.maxBatch = 200

        func processor(_ member: String, crashAfter: Int? = nil) -> (EventProcessor<QuerySubmitted>, RecordingBus) {
            let recording = RecordingBus(inner: bus, member: member, log: log)
            let processor = EventProcessor<QuerySubmitted>(
                bus: recording, topic: topic, group: group, configuration: configuration, logger: testLogger(member)
            ) { events in
                // Within a batch, each partition's events come in offset order (decoding is parallel).
                let byPartition = Dictionary(grouping: events, by: \.message.partition)
                if byPartition.values.contains(where: { list in zip(list, list.dropFirst()).contains { $0.message.offset >= $1.message.offset } }) {
                    outOfOrder.withLock { $0 += 1 }
                }
                handled.withLock { counts in
                    for event in events { counts[event.envelope.eventID, default: 0] += 1 }
                }
                if let crashAfter {
                    let count = handledByA.withLock { $0 += events.count; return $0 }
                    // The batch is handled (its rows would be in the database) but its offsets are
                    // never committed: the consumer dies first.
                    if count >= crashAfter { await recording.crash() }
                }
            }
            return (processor, recording)
        }

        let (processorA, recordingA) = processor("A", crashAfter: 1500)
        let (processorB, recordingB) = processor("B")
        let runningA = Task { try await processorA.run() }
        let runningB = Task { try await processorB.run() }
        // Both members own partitions before the stream starts, so it is really shared.
        let shared = try await eventually(timeout: .seconds(40)) {
            let a = try await recordingA.currentAssignment(), b = try await recordingB.currentAssignment()
            return !a.isEmpty && !b.isEmpty && a.count + b.count == 4
        }
        try #require(shared, "the two processors never split the partitions")

        let events = (0..<total).map { makeQueryEvent($0) }
        let codec = EventCodec()
        for chunk in stride(from: 0, to: total, by: 2000) {
            try await bus.send(try events[chunk..<min(chunk + 2000, total)].map {
                OutgoingMessage(topic: topic, key: $0.payload.queryID, value: try codec.encode($0))
            })
        }

        // A dies mid-stream; its run ends with the closed-consumer error.
        await #expect {
            try await runningA.value
        } throws: { ($0 as? BusError)?.code == .closed }
        let handledWhenACrashed = handled.current.count
        #expect(handledWhenACrashed < total, "A crashed before the stream ended")

        let (processorC, _) = processor("C")
        let runningC = Task { try await processorC.run() }
        let complete = await eventually(timeout: .seconds(60)) { handled.current.count >= total }
        // Let any in-flight redelivery finish before counting.
        try await Task.sleep(for: .milliseconds(500))
        runningB.cancel()
        runningC.cancel()
        try await runningB.value
        try await runningC.value

        let counts = handled.current
        #expect(complete)
        #expect(counts.count == total, "every event handled at least once")
        #expect(Set(counts.keys) == Set(events.map(\.eventID)))
        let duplicates = counts.values.reduce(0, +) - counts.count

        let record = log.snapshot()
        var redeliveredFromCommitted = 0
        var duplicateDeliveries = 0
        for (_, polls) in record.deliveries where polls.count > 1 {
            duplicateDeliveries += polls.count - 1
            // Every delivery but the last came in a batch whose offsets were not committed.
            redeliveredFromCommitted += polls.dropLast().filter { record.committed.contains($0) }.count
        }
        let uncommittedMessages = record.pollSizes.filter { !record.committed.contains($0.key) }.values.reduce(0, +)
        print("[\(kind)] handled \(counts.values.reduce(0, +)) deliveries of \(total) events: \(duplicates) duplicates; " +
              "uncommitted batches held \(uncommittedMessages) messages; A crashed after \(handledByA.current)")
        #expect(outOfOrder.current == 0, "a handler received a partition's events out of order")
        #expect(redeliveredFromCommitted == 0, "a message from a committed batch was delivered again")
        #expect(duplicates == duplicateDeliveries)
        #expect(duplicates <= uncommittedMessages)
        // The crashed batch was redelivered to a survivor.
        let crashed = try #require(record.crashedPoll)
        let crashedRefs = record.deliveries.filter { $0.value.first == crashed }
        #expect(!crashedRefs.isEmpty && crashedRefs.allSatisfy { $0.value.count >= 2 })
        #expect(duplicates >= crashedRefs.count)
    }
}

// MARK: - Recording which batches were delivered and committed

struct MessageRef: Hashable {
    var partition: Int32
    var offset: Int64
}

struct PollID: Hashable {
    var member: String
    var consumer: Int
    var poll: Int
}

/// What every member polled and committed, shared by the members of one test.
final class DeliveryLog: @unchecked Sendable {
    struct Record {
        var deliveries: [MessageRef: [PollID]] = [:]
        var pollSizes: [PollID: Int] = [:]
        var committed: Set<PollID> = []
        var crashedPoll: PollID?
    }

    private let box = Box(Record())

    func polled(_ id: PollID, _ batch: [BusMessage]) {
        box.withLock { record in
            record.pollSizes[id] = batch.count
            for message in batch {
                record.deliveries[MessageRef(partition: message.partition, offset: message.offset), default: []].append(id)
            }
        }
    }

    func committed(_ id: PollID) { box.withLock { _ = $0.committed.insert(id) } }
    func crashed(_ id: PollID?) { box.withLock { $0.crashedPoll = id } }
    func snapshot() -> Record { box.current }
}

/// Wraps a bus so each consumer it makes records its polls and commits, and can be crashed: closed
/// without committing the batch in hand, as a process killed between its database commit and its
/// offset commit.
final class RecordingBus: MessageBus, @unchecked Sendable {
    let inner: any MessageBus
    let member: String
    let log: DeliveryLog
    private let consumers = Box<[RecordingConsumer]>([])

    init(inner: any MessageBus, member: String, log: DeliveryLog) {
        self.inner = inner
        self.member = member
        self.log = log
    }

    func createTopic(_ name: String, partitions: Int) async throws { try await inner.createTopic(name, partitions: partitions) }
    func send(_ messages: [OutgoingMessage]) async throws { try await inner.send(messages) }
    func partitionCount(of topic: String) async throws -> Int? { try await inner.partitionCount(of: topic) }
    func consumerLag(group: String, topic: String) async throws -> [PartitionLag] { try await inner.consumerLag(group: group, topic: topic) }

    func makeConsumer(topics: [String], group: String) throws -> any MessageConsumer {
        let consumer = consumers.withLock { list in
            RecordingConsumer(inner: try! inner.makeConsumer(topics: topics, group: group),
                              id: PollID(member: member, consumer: list.count, poll: 0), log: log)
        }
        consumers.withLock { $0.append(consumer) }
        return consumer
    }

    func currentAssignment() async throws -> [TopicPartition] {
        guard let consumer = consumers.current.last else { return [] }
        return try await consumer.assignment()
    }

    func crash() async {
        for consumer in consumers.current { await consumer.crash() }
    }
}

final class RecordingConsumer: MessageConsumer, @unchecked Sendable {
    private let inner: any MessageConsumer
    private let log: DeliveryLog
    private let state: Box<(lastPoll: PollID, crashed: Bool)>

    init(inner: any MessageConsumer, id: PollID, log: DeliveryLog) {
        self.inner = inner
        self.log = log
        state = Box((id, false))
    }

    private func ensureAlive() throws {
        if state.current.crashed { throw BusError(.closed, "consumer crashed", isRetriable: false) }
    }

    func poll(maxMessages: Int, timeout: Duration) async throws -> [BusMessage] {
        try ensureAlive()
        let batch = try await inner.poll(maxMessages: maxMessages, timeout: timeout)
        if !batch.isEmpty {
            let id = state.withLock { state -> PollID in
                state.lastPoll.poll += 1
                return state.lastPoll
            }
            log.polled(id, batch)
        }
        return batch
    }

    func commit(_ messages: [BusMessage]) async throws {
        try ensureAlive()
        try await inner.commit(messages)
        // The processor commits exactly the batch it polled last.
        log.committed(state.current.lastPoll)
    }

    func assignment() async throws -> [TopicPartition] { try await inner.assignment() }
    func close() async { await inner.close() }

    func crash() async {
        let lastPoll = state.withLock { state -> PollID in
            state.crashed = true
            return state.lastPoll
        }
        log.crashed(lastPoll)
        await inner.close()
    }
}
