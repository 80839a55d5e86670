import Bus
import Events
import Foundation
import Testing
import Resilience

@Suite("Event processor: dead letters, retries, commits")
struct EventProcessorTests {
    @Test("each kind of poison message lands in <topic>.dlq with its code; the valid events around them are handled",
          arguments: BusKind.allCases)
    func poisonMessagesAreDeadLettered(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("poison"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 1)
        try await bus.createTopic(DeadLetter.topic(for: topic), partitions: 1)

        var valid: [EventEnvelope<QuerySubmitted>] = []
        var sent: [OutgoingMessage] = []
        func addValid() throws {
            let (event, bytes) = try encodeEvent(valid.count)
            valid.append(event)
            sent.append(OutgoingMessage(topic: topic, key: "valid-\(valid.count)", value: bytes))
        }
        func addPoison(_ name: String, _ bytes: [UInt8]) {
            sent.append(OutgoingMessage(topic: topic, key: name, value: bytes))
        }
        try addValid()
        addPoison("malformed", Array(#"{"event_id": "not closed"#.utf8))
        try addValid()
        addPoison("unknown-type", try editedEvent(100) { $0["type"] = "no_such_event" })
        try addValid()
        addPoison("unsupported-version", try editedEvent(101) { $0["schema_version"] = 99 })
        try addValid()
        addPoison("missing-field", try editedEvent(102) { event in
            var payload = event["payload"] as! [String: Any]
            payload["question"] = nil
            event["payload"] = payload
        })
        try addValid()
        addPoison("oversized", try encodeEvent(103, question: String(repeating: "long question ", count: 400)).1)
        try addValid()
        try await bus.send(sent)

        var configuration = EventProcessorConfiguration(codec: EventCodec(maxEventBytes: 4096))
        configuration.maxBatch = 4  // several batches, so commits happen between them
        let handled = Box<[UUID]>([])
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, configuration: configuration, logger: testLogger("processor")
        ) { events in
            handled.withLock { $0 += events.map(\.envelope.eventID) }
        }
        let running = Task { try await processor.run() }

        let dlq = try bus.makeConsumer(topics: [processor.deadLetterTopic], group: uniqueName("dlq-reader"))
        let deadMessages = try await collect(dlq, count: 5, timeout: .seconds(40))
        let allHandled = await eventually(timeout: .seconds(20)) { handled.current.count >= valid.count }
        running.cancel()
        try await running.value
        await dlq.close()

        #expect(allHandled)
        #expect(handled.current == valid.map(\.eventID), "valid events handled once, in order")
        try #require(deadMessages.count == 5)
        let letters = try deadMessages.map { try DeadLetter.decode($0.value) }.sorted { $0.offset < $1.offset }
        #expect(letters.map(\.code) == ["malformedJSON", "unknownType", "unsupportedVersion", "invalidPayload", "oversized"])
        #expect(letters.map(\.offset) == [1, 3, 5, 7, 9])
        #expect(letters[3].reason.contains("question"), "reason names the missing field: \(letters[3].reason)")
        #expect(letters[1].reason.contains("no_such_event"))
        #expect(letters[2].reason.contains("99"))
        for letter in letters {
            let original = sent[Int(letter.offset)]
            #expect(letter.sourceTopic == topic && letter.consumerGroup == group && letter.partition == 0)
            #expect(letter.originalValue == original.value, "the original bytes are kept")
            #expect(letter.originalKey == original.key)
            #expect(!letter.valueTruncated && letter.originalSize == original.value.count)
            #expect(!letter.reason.isEmpty)
        }
        // The DLQ record is keyed by the original key.
        #expect(Set(deadMessages.map { $0.keyString! }) == ["malformed", "unknown-type", "unsupported-version", "missing-field", "oversized"])
        let metrics = processor.metrics
        #expect(metrics.processed == valid.count && metrics.deadLettered == 5 && metrics.retries == 0)
        #expect(metrics.batches >= 3 && metrics.commitFailures == 0)

        // Everything was committed: a new member of the group starts after it.
        let (late, lateBytes) = try encodeEvent(500)
        try await bus.send([OutgoingMessage(topic: topic, key: "late", value: lateBytes)])
        let handledLater = Box<[UUID]>([])
        let successor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, configuration: configuration, logger: testLogger("successor")
        ) { events in
            handledLater.withLock { $0 += events.map(\.envelope.eventID) }
        }
        let runningSuccessor = Task { try await successor.run() }
        _ = await eventually(timeout: .seconds(40)) { !handledLater.current.isEmpty }
        try await Task.sleep(for: .milliseconds(300))
        runningSuccessor.cancel()
        try await runningSuccessor.value
        #expect(handledLater.current == [late.eventID])
        #expect(successor.metrics.deadLettered == 0)
    }

    @Test("a non-retriable handler error dead-letters only the failing event", arguments: BusKind.allCases)
    func nonRetriableErrorDeadLettersOnlyTheFailingEvent(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("reject"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 1)
        try await bus.createTopic(DeadLetter.topic(for: topic), partitions: 1)
        let events = (0..<10).map { makeQueryEvent($0, question: $0 == 4 ? "reject me" : nil) }
        try await bus.send(try events.map { OutgoingMessage(topic: topic, key: $0.payload.queryID, value: try EventCodec().encode($0)) })

        let handled = Box<[String]>([])
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, logger: testLogger("processor")
        ) { batch in
            if batch.contains(where: { $0.envelope.payload.question == "reject me" }) {
                throw TestHandlerError(isRetriable: false, detail: "profile p-4 is not allowed")
            }
            handled.withLock { $0 += batch.map(\.envelope.payload.queryID) }
        }
        let running = Task { try await processor.run() }
        let dlq = try bus.makeConsumer(topics: [processor.deadLetterTopic], group: uniqueName("dlq-reader"))
        let dead = try await collect(dlq, count: 1, timeout: .seconds(40))
        _ = await eventually(timeout: .seconds(20)) { handled.current.count >= 9 }
        running.cancel()
        try await running.value
        await dlq.close()

        #expect(Set(handled.current) == Set(events.filter { $0.payload.queryID != "q-4" }.map(\.payload.queryID)))
        #expect(handled.current.count == 9)
        try #require(dead.count == 1)
        let letter = try DeadLetter.decode(dead[0].value)
        #expect(letter.code == DeadLetter.handlerFailedCode)
        #expect(letter.reason.contains("profile p-4 is not allowed"))
        #expect(letter.offset == 4 && dead[0].keyString == "q-4")
        #expect(processor.metrics.deadLettered == 1 && processor.metrics.processed == 9)
    }

    @Test("a retriable handler error is retried with growing backoff, then succeeds; nothing is lost",
          arguments: BusKind.allCases)
    func retriableErrorIsRetriedWithBackoff(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("retry"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 2)
        let events = (0..<20).map { makeQueryEvent($0) }
        try await bus.send(try events.map { OutgoingMessage(topic: topic, key: $0.payload.queryID, value: try EventCodec().encode($0)) })

        let attempts = Box<[ContinuousClock.Instant]>([])
        let handled = Box<Set<UUID>>([])
        // Waits of 200, 400 and 800 ms: long enough that a scheduling stall of a few hundred ms on
        // this 2-core machine (other suites train models in parallel) cannot reorder them.
        let configuration = EventProcessorConfiguration(initialBackoff: .milliseconds(200), maxBackoff: .seconds(2))
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, configuration: configuration, logger: testLogger("processor")
        ) { batch in
            let attempt = attempts.withLock { list -> Int in
                list.append(.now)
                return list.count
            }
            if attempt <= 3 {
                throw BusError(.brokerUnavailable, "database restarting (attempt \(attempt))", isRetriable: true)
            }
            handled.withLock { $0.formUnion(batch.map(\.envelope.eventID)) }
        }
        let running = Task { try await processor.run() }
        let done = await eventually(timeout: .seconds(40)) { handled.current.count >= 20 }
        running.cancel()
        try await running.value

        #expect(done)
        #expect(handled.current == Set(events.map(\.eventID)))
        #expect(processor.metrics.retries == 3 && processor.metrics.deadLettered == 0)
        let times = attempts.current
        try #require(times.count >= 4)
        let gaps = (1..<4).map { times[$0] - times[$0 - 1] }
        // 200, 400, 800 ms, each within ±20% jitter (so at least the 40, 80, 160 ms checked here).
        #expect(gaps[0] >= .milliseconds(40) && gaps[1] >= .milliseconds(80) && gaps[2] >= .milliseconds(160), "\(gaps)")
        #expect(gaps[2] > gaps[0])
    }

    @Test("when retries are exhausted, run throws and commits nothing", arguments: BusKind.allCases)
    func exhaustedRetriesThrowWithoutCommit(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("exhaust"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 1)
        let event = makeQueryEvent(1)
        try await bus.send([OutgoingMessage(topic: topic, key: "q-1", value: try EventCodec().encode(event))])
        let configuration = EventProcessorConfiguration(maxRetries: 2, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(20))
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, configuration: configuration, logger: testLogger("processor")
        ) { _ in
            throw TestHandlerError(isRetriable: true, detail: "still down")
        }
        await #expect(throws: TestHandlerError.self) { try await processor.run() }
        #expect(processor.metrics.retries == 2 && processor.metrics.batches == 0)

        // Not committed: the group's next member gets the event again.
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        let again = try await collect(consumer, count: 1, timeout: .seconds(40))
        await consumer.close()
        #expect(again.map(\.value) == [try EventCodec().encode(event)])
    }

    @Test("run creates its topic when configured to, so a consumer can start before any producer",
          arguments: BusKind.allCases)
    func runCreatesItsTopic(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("created-by-consumer")
        var configuration = EventProcessorConfiguration()
        configuration.topicPartitions = 3
        let handled = Box<[String]>([])
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: uniqueName("group"), configuration: configuration, logger: testLogger("processor")
        ) { events in
            handled.withLock { $0 += events.map(\.envelope.payload.queryID) }
        }
        let running = Task { try await processor.run() }
        let created = try await eventually(timeout: .seconds(20)) { try await bus.partitionCount(of: topic) == 3 }
        #expect(created)
        let event = makeQueryEvent(7)
        try await bus.send([OutgoingMessage(topic: topic, key: "q-7", value: try EventCodec().encode(event))])
        let done = await eventually(timeout: .seconds(40)) { handled.current == ["q-7"] }
        running.cancel()
        try await running.value
        #expect(done)
    }

    @Test("cancelling run finishes the batch in hand and commits it; cancelling during retries commits nothing",
          arguments: BusKind.allCases)
    func cancellationFinishesOrAbandonsTheBatch(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("shutdown"), group = uniqueName("group")
        try await bus.createTopic(topic, partitions: 1)
        let events = (0..<5).map { makeQueryEvent($0) }
        try await bus.send(try events.map { OutgoingMessage(topic: topic, key: $0.payload.queryID, value: try EventCodec().encode($0)) })

        let started = Box(false), handled = Box<[UUID]>([])
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group, logger: testLogger("processor")
        ) { batch in
            started.withLock { $0 = true }
            // A slow database write: it must not be cut short by the shutdown.
            try await Task.sleep(for: .milliseconds(500))
            handled.withLock { $0 += batch.map(\.envelope.eventID) }
        }
        let running = Task { try await processor.run() }
        _ = await eventually(timeout: .seconds(40)) { started.current }
        running.cancel()
        try await running.value
        #expect(Set(handled.current) == Set(events.map(\.eventID)))
        let lag = try await bus.consumerLag(group: group, topic: topic)
        #expect(lag.first?.committed == 5, "the finished batch was committed: \(lag)")

        // Now a handler stuck in retries: shutdown leaves its batch uncommitted.
        let more = makeQueryEvent(5)
        try await bus.send([OutgoingMessage(topic: topic, key: "q-5", value: try EventCodec().encode(more))])
        let attempts = Box(0)
        let stuck = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: group,
            configuration: EventProcessorConfiguration(initialBackoff: .seconds(1), maxBackoff: .seconds(1)),
            logger: testLogger("stuck")
        ) { _ in
            attempts.withLock { $0 += 1 }
            throw TestHandlerError(isRetriable: true, detail: "database down")
        }
        let runningStuck = Task { try await stuck.run() }
        _ = await eventually(timeout: .seconds(40)) { attempts.current >= 1 }
        let cancelledAt = ContinuousClock.now
        runningStuck.cancel()
        try await runningStuck.value
        #expect(ContinuousClock.now - cancelledAt < .seconds(2), "shutdown does not wait out the backoff")
        #expect(try await bus.consumerLag(group: group, topic: topic).first?.committed == 5)
    }

    @Test("with maxWait, a batch collects messages that trickle in until it holds maxBatch; never more",
          arguments: BusKind.allCases)
    func maxWaitCollectsAMicroBatch(kind: BusKind) async throws {
        let bus = try kind.makeBus()
        let topic = uniqueName("micro-batch")
        try await bus.createTopic(topic, partitions: 1)
        var configuration = EventProcessorConfiguration(maxBatch: 8)
        // Far longer than the trickle below takes, so the batch fills up before the window closes.
        configuration.maxWait = .seconds(10)
        let batches = Box<[Int]>([])
        let processor = EventProcessor<QuerySubmitted>(
            bus: bus, topic: topic, group: uniqueName("group"), configuration: configuration, logger: testLogger("processor")
        ) { events in
            batches.withLock { $0.append(events.count) }
        }
        let running = Task { try await processor.run() }
        // Sixteen events, one at a time: without maxWait each poll would hand over one or two.
        for index in 0..<16 {
            let event = makeQueryEvent(index)
            try await bus.send([OutgoingMessage(topic: topic, key: event.payload.queryID, value: try EventCodec().encode(event))])
            try await Task.sleep(for: .milliseconds(20))
        }
        let done = await eventually(timeout: .seconds(60)) { batches.current.reduce(0, +) == 16 }
        running.cancel()
        try await running.value
        #expect(done)
        #expect(batches.current == [8, 8], "batch sizes: \(batches.current)")
    }
}
