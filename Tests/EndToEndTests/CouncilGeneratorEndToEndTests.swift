import Bus
import Events
import Foundation
import Store
import Testing

/// The council generator against the real local stack: real broker, real PostgreSQL, real
/// processes. Serialized: one test restarts PostgreSQL.
@Suite("council generator end to end", .serialized)
struct CouncilGeneratorEndToEndTests {

    @Test("10,000 events through two replicas, one killed mid-stream: exactly 10,000 rows")
    func exactlyOnceEffectDespiteACrashedReplica() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        try await bus.createTopic(context.queriesTopic, partitions: 4)
        try await bus.createTopic(context.annotationsTopic, partitions: 4)

        let first = try context.startCouncilGenerator("a")
        let second = try context.startCouncilGenerator("b")
        let total = 10_000
        try await context.send(context.makeQueries(total), bus: bus)

        // Crash one replica once the stream is well under way, then start a replacement.
        let partway = try await context.waitForProcessed(database, expected: total / 4)
        #expect(partway >= total / 4, "replicas made no progress; log: \(first.log.suffix(2000))")
        first.kill()
        let replacement = try context.startCouncilGenerator("c")

        let processed = try await context.waitForProcessed(database, expected: total)
        #expect(second.terminate() == 0)
        #expect(replacement.terminate() == 0)
        #expect(processed == total)
        #expect(try await context.count(database, "SELECT count(*) FROM queries") == total)
        #expect(try await context.count(database, "SELECT count(DISTINCT query_id) FROM queries") == total)
        #expect(try await context.count(database, "SELECT count(*) FROM annotations") == total)
        #expect(try await context.count(database, "SELECT count(*) FROM processed_events") == total)

        // Every query's annotation event was published; repeats carry the same event id.
        let annotationIDs = try await collectEventIDs(bus: bus, topic: context.annotationsTopic,
                                                      group: "e2e-reader-\(context.suffix)", until: total)
        #expect(annotationIDs.count == total)
    }

    @Test("malformed, unknown, unsupported, incomplete and oversized events are dead-lettered; valid ones stored")
    func badInputIsDeadLetteredAndValidInputProcessed() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        try await bus.createTopic(context.queriesTopic, partitions: 2)
        let generator = try context.startCouncilGenerator("dlq", extraArguments: ["--max-event-bytes", "65536"])

        let codec = EventCodec()
        let valid = context.makeQueries(48)
        func bytes(_ e: EventEnvelope<QuerySubmitted>) throws -> [UInt8] { try codec.encode(e) }
        func mutated(_ e: EventEnvelope<QuerySubmitted>, _ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var object = try JSONSerialization.jsonObject(with: Data(try bytes(e))) as! [String: Any]
            change(&object)
            return [UInt8](try JSONSerialization.data(withJSONObject: object))
        }
        let bad: [(String, [UInt8])] = [
            ("malformedJSON", Array("{\"event_id\": \"not closed".utf8)),
            ("unknownType", try mutated(valid[1]) { $0["type"] = "query_teleported"; $0["event_id"] = UUID().uuidString }),
            ("unsupportedVersion", try mutated(valid[2]) { $0["schema_version"] = 99; $0["event_id"] = UUID().uuidString }),
            ("invalidPayload", try mutated(valid[3]) {
                var payload = $0["payload"] as! [String: Any]
                payload.removeValue(forKey: "question")
                $0["payload"] = payload
                $0["event_id"] = UUID().uuidString
            }),
            ("oversized", try JSONEncoder().encode(["pad": String(repeating: "x", count: 70_000)]).map { $0 }),
            // The events contract rejects a NUL character (PostgreSQL text cannot hold one): it is
            // an invalid payload, not a database failure.
            ("invalidPayload", Array(String(decoding: try bytes(valid[5]), as: UTF8.self)
                .replacingOccurrences(of: "\"question\":\"", with: "\"question\":\"\\u0000").utf8)),
        ]
        var messages: [OutgoingMessage] = []
        for (index, envelope) in valid.enumerated() {
            messages.append(OutgoingMessage(topic: context.queriesTopic, key: Array(envelope.payload.queryID.utf8), value: try bytes(envelope)))
            if index % 8 == 4, index / 8 < bad.count {
                messages.append(OutgoingMessage(topic: context.queriesTopic, key: Array("bad".utf8), value: bad[index / 8].1))
            }
        }
        try await bus.send(messages)

        let processed = try await context.waitForProcessed(database, expected: valid.count, timeout: .seconds(120))
        #expect(processed == valid.count)
        #expect(try await context.count(database, "SELECT count(*) FROM annotations") == valid.count)

        let letters = try await collectDeadLetters(bus: bus, topic: DeadLetter.topic(for: context.queriesTopic),
                                                   group: "e2e-dlq-\(context.suffix)", until: bad.count)
        #expect(generator.terminate() == 0)
        let codes = Set(letters.map(\.code))
        #expect(codes == Set(bad.map(\.0)), "dead-letter codes: \(letters.map { "\($0.code): \($0.reason)" })")
        #expect(letters.contains { $0.code == "invalidPayload" && $0.reason.contains("U+0000") },
                "the NUL question is rejected by the events contract: \(letters.map(\.reason))")
        for letter in letters { #expect(!letter.reason.isEmpty) }
    }

    @Test("PostgreSQL restarted while a consumer runs: it retries and stores every event once")
    func consumerSurvivesPostgresRestart() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        try await bus.createTopic(context.queriesTopic, partitions: 2)
        let generator = try context.startCouncilGenerator("pg")
        let total = 3_000
        let envelopes = context.makeQueries(total)
        try await context.send(Array(envelopes.prefix(1_000)), bus: bus)
        _ = try await context.waitForProcessed(database, expected: 200)

        try restartPostgres()
        try await context.send(Array(envelopes.dropFirst(1_000)), bus: bus)

        let processed = try await context.waitForProcessed(database, expected: total)
        #expect(generator.terminate() == 0)
        #expect(processed == total)
        #expect(try await context.count(database, "SELECT count(*) FROM queries") == total)
        #expect(try await context.count(database, "SELECT count(*) FROM annotations") == total)
        #expect(generator.log.contains("retry"), "no retry was logged; the restart went unnoticed")
    }

    // MARK: - Helpers

    private func restartPostgres() throws {
        let script = EndToEndContext.repositoryRoot.appendingPathComponent("Compose/local/stack.sh").path
        let status = try ChildProcess.runToCompletion(script, ["restart-pg"])
        #expect(status == 0, "stack.sh restart-pg failed with status \(status)")
    }

    private func collectEventIDs(bus: any MessageBus, topic: String, group: String, until expected: Int) async throws -> Set<UUID> {
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        defer { Task { await consumer.close() } }
        let codec = EventCodec()
        var ids = Set<UUID>()
        let deadline = ContinuousClock.now + .seconds(120)
        while ids.count < expected, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 1_000, timeout: .milliseconds(500)) {
                ids.insert(try codec.decodeHeader(message.value).eventID)
            }
        }
        return ids
    }

    private func collectDeadLetters(bus: any MessageBus, topic: String, group: String, until expected: Int) async throws -> [DeadLetter] {
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        defer { Task { await consumer.close() } }
        var letters: [DeadLetter] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while letters.count < expected, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                letters.append(try DeadLetter.decode(message.value))
            }
        }
        return letters
    }
}
