import Bus
import Events
import Foundation
import Store
import Testing

/// The critic against the real local stack: the real `critic` executable on its test-fixture
/// backend, the real broker and PostgreSQL. Serialized: the crash test runs two replicas.
@Suite("critic end to end", .serialized)
struct CriticEndToEndTests {
    @Test("bad input: each case gets a failed reply or a dead letter with the reason, and a good request after them is answered")
    func badInputIsAnsweredOrDeadLettered() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        let topics = CriticTopics(context)
        // One partition: the good request is read after all the bad ones.
        try await bus.createTopic(topics.requests, partitions: 1)
        try await bus.createTopic(topics.replies, partitions: 1)
        let critic = try context.startCritic("bad-input", topics: topics)

        let codec = EventCodec()
        let nowhere = "e2e.critic.nowhere.\(context.suffix)"
        let empty = topics.request("empty")
        let emptyBytes = try Self.edited(try codec.encode(EventEnvelope(payload: empty, producer: "e2e-tests"))) { payload in
            payload["steps"] = [String]()
            payload["answer"] = ""
        }
        let requests: [(String, [UInt8])] = [
            ("empty", emptyBytes),
            ("too-long", try topics.encoded(topics.request("too-long", answer: String(repeating: "a very long answer ", count: 600)))),
            ("unknown-checkpoint", try topics.encoded(topics.request("unknown-checkpoint", checkpoint: "prm-\(context.suffix)-missing"))),
            ("no-reply-topic", try topics.encoded(topics.request("no-reply-topic", replyTopic: nowhere))),
            ("expired", try topics.encoded(topics.request("expired", deadlineMs: 1_000))),
            ("good", try topics.encoded(topics.request("good", steps: 3))),
        ]
        try await bus.send(requests.map { OutgoingMessage(topic: topics.requests, key: Array($0.0.utf8), value: $0.1) })

        let replies = try await collectReplies(bus: bus, topic: topics.replies, group: "e2e-critic-reader-\(context.suffix)",
                                               until: ["good"], timeout: .seconds(120))
        let letters = try await collectDeadLetters(bus: bus, topic: DeadLetter.topic(for: topics.requests),
                                                   group: "e2e-critic-dlq-\(context.suffix)", count: 2)
        #expect(critic.terminate() == 0, "log: \(critic.log.suffix(2000))")

        let good = try #require(replies["good"]?.first, "no reply to the good request; log: \(critic.log.suffix(3000))")
        #expect(good.status == .ok && good.finalScore == 0.3 && good.stepVerdicts.count == 3)
        #expect(replies["too-long"]?.first?.status == .failed)
        #expect(replies["too-long"]?.first?.error?.contains("characters of context") == true, "\(replies["too-long"] ?? [])")
        #expect(replies["unknown-checkpoint"]?.first?.error == "critic checkpoint 'prm-\(context.suffix)-missing' does not exist")
        #expect(replies["expired"]?.first?.status == .failed)
        #expect(replies["expired"]?.first?.error?.hasPrefix("deadline passed") == true)
        #expect(replies["empty"] == nil && replies["no-reply-topic"] == nil)

        let invalid = try #require(letters.first { $0.code == "invalidPayload" }, "dead letters: \(letters)")
        #expect(invalid.reason.contains("neither steps nor an answer"), "\(invalid.reason)")
        #expect(invalid.originalValue == emptyBytes)
        let undelivered = try #require(letters.first { $0.code == DeadLetter.undeliverableCode }, "dead letters: \(letters)")
        #expect(undelivered.reason.contains("reply topic '\(nowhere)' does not exist"))
        #expect(undelivered.undeliveredTopic == nowhere)
        let reply = try codec.decode(try #require(undelivered.undeliveredValue), as: CritiqueProduced.self)
        #expect(reply.payload.requestID == "no-reply-topic" && reply.payload.status == .ok)
        // The broker would have created the topic had the critic sent to it.
        #expect(try await bus.partitionCount(of: nowhere) == nil)

        #expect(try await context.count(database, "SELECT count(*) FROM critiques") == 5)
        #expect(try await context.count(database, "SELECT count(*) FROM critiques WHERE status = 'failed'") == 3)
    }

    @Test("crash: two slow replicas, one SIGKILLed mid-batch; every request answered exactly once by request id")
    func replicaKilledMidBatch() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        let topics = CriticTopics(context)
        try await bus.createTopic(topics.requests, partitions: 4)
        try await bus.createTopic(topics.replies, partitions: 4)
        // 25 ms per request: a micro-batch of 16 takes 0.4 s, so a kill almost always lands inside one.
        let slow = ["--fixture-delay-ms", "25", "--max-batch", "16"]
        let a = try context.startCritic("a", topics: topics, extraArguments: slow, logLevel: "debug")
        let b = try context.startCritic("b", topics: topics, extraArguments: slow)
        let total = 400
        let ids = (0..<total).map { "crash-\($0)" }
        try await bus.send(try ids.enumerated().map { index, id in
            OutgoingMessage(topic: topics.requests, key: Array(id.utf8), value: try topics.encoded(topics.request(id, steps: index % 5)))
        })

        let partway = try await waitForCritiques(database, context: context, atLeast: total / 4)
        #expect(partway >= total / 4, "no progress; log a: \(a.log.suffix(2000))")
        // Kill a while a micro-batch is in its hands: its last batch line says it started and not that it answered.
        var midBatch = false
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let lines = a.log.split(separator: "\n").filter { $0.contains("a micro-batch") }
            if lines.last?.contains("critiquing a micro-batch") == true, !lines.last!.contains("new=0") {
                a.kill()
                midBatch = true
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        if !midBatch { a.kill() }
        let killedAt = ContinuousClock.now
        #expect(midBatch, "replica a was never seen inside a micro-batch")

        let stored = try await waitForCritiques(database, context: context, atLeast: total, timeout: .seconds(300))
        print("critic crash: replica a killed \(midBatch ? "mid-batch" : "outside a batch") with \(partway)+ of \(total) answered; "
              + "all \(total) stored \(Self.seconds(ContinuousClock.now - killedAt)) s later by replica b")
        let replies = try await collectReplies(bus: bus, topic: topics.replies, group: "e2e-critic-reader-\(context.suffix)",
                                               until: Set(ids), timeout: .seconds(120))
        #expect(b.terminate() == 0, "log b: \(b.log.suffix(2000))")

        #expect(stored == total)
        #expect(try await context.count(database, "SELECT count(*) FROM critiques") == total)
        #expect(try await context.count(database, "SELECT count(DISTINCT request_id) FROM critiques") == total)
        #expect(try await context.count(database, "SELECT count(*) FROM processed_events WHERE consumer = 'critic'") == total)
        #expect(Set(replies.keys) == Set(ids), "\(total - replies.count) requests have no reply")
        for (id, answers) in replies {
            #expect(answers.allSatisfy { $0 == answers[0] }, "request \(id) was answered differently: \(answers)")
        }
        let duplicates = replies.values.reduce(0) { $0 + $1.count - 1 }
        print("critic crash: \(replies.count) requests answered, \(duplicates) duplicate replies, all identical to the first")
    }

    @Test("a prm checkpoint announced on the checkpoints topic is loaded by every replica, and later replies name it")
    func announcedCheckpointReachesEveryReplica() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        let topics = CriticTopics(context)
        try await bus.createTopic(topics.requests, partitions: 4)
        try await bus.createTopic(topics.replies, partitions: 4)
        try await bus.createTopic(topics.checkpoints, partitions: 1)
        let replicas = [try context.startCritic("a", topics: topics), try context.startCritic("b", topics: topics)]

        // The replicas migrate the schema; the checkpoint goes in once that is done.
        let checkpointID = "prm-\(context.suffix)-step-40"
        let deadline = ContinuousClock.now + .seconds(120)
        var record: CheckpointRecord?
        while record == nil, ContinuousClock.now < deadline {
            record = try? await database.withConnection { connection in
                try CheckpointRepository(connection).save(CheckpointRecord(
                    checkpointID: checkpointID, modelKind: "prm", runID: "prm-run", step: 40, safetensors: Array(repeating: 7, count: 64)))
                return try CheckpointRepository(connection).load(checkpointID)
            }
            if record == nil { try await Task.sleep(for: .milliseconds(250)) }
        }
        let stored = try #require(record)
        let announcement = EventEnvelope(payload: CheckpointPublished(
            checkpointID: checkpointID, modelKind: .prm, runID: "prm-run", step: 40, algorithm: .prmSFT,
            sha256: try #require(stored.sha256), sizeBytes: Int64(stored.safetensors.count)), producer: "e2e-tests")
        try await bus.send([OutgoingMessage(topic: topics.checkpoints, key: Array("prm-run".utf8),
                                            value: try EventCodec().encode(announcement))])

        // Requests keep going out until both replicas have answered one with the new checkpoint.
        let consumer = try bus.makeConsumer(topics: [topics.replies], group: "e2e-critic-reader-\(context.suffix)")
        defer { Task { await consumer.close() } }
        var answeredWithIt = Set<String>()
        var round = 0
        while answeredWithIt.count < 2, ContinuousClock.now < deadline {
            try await bus.send(try (0..<8).map { index in
                let id = "swap-\(round)-\(index)"
                return OutgoingMessage(topic: topics.requests, key: Array(id.utf8), value: try topics.encoded(topics.request(id)))
            })
            round += 1
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                let reply = try EventCodec().decode(message.value, as: CritiqueProduced.self)
                if reply.payload.criticCheckpointID == checkpointID { answeredWithIt.insert(reply.producer) }
            }
        }
        for replica in replicas { #expect(replica.terminate() == 0) }
        #expect(answeredWithIt == ["critic/a", "critic/b"], "log a: \(replicas[0].log.suffix(1500))")
        for replica in replicas {
            #expect(replica.log.contains("critic backend swapped"), "no swap logged: \(replica.log.suffix(1500))")
        }
    }

    // MARK: - Helpers

    /// Waits until `critiques` holds at least `count` rows; returns the last count seen.
    private func waitForCritiques(_ database: Database, context: EndToEndContext, atLeast count: Int,
                                  timeout: Duration = .seconds(120)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var seen = 0
        while ContinuousClock.now < deadline {
            seen = (try? await context.count(database, "SELECT count(*) FROM critiques")) ?? seen
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }

    /// Every reply on `topic`, by request id, read until all of `expected` have one.
    private func collectReplies(bus: any MessageBus, topic: String, group: String, until expected: Set<String>,
                                timeout: Duration) async throws -> [String: [CritiqueProduced]] {
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        defer { Task { await consumer.close() } }
        let codec = EventCodec()
        var replies: [String: [CritiqueProduced]] = [:]
        let deadline = ContinuousClock.now + timeout
        while !expected.isSubset(of: Set(replies.keys)), ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 1_000, timeout: .milliseconds(500)) {
                let reply = try codec.decode(message.value, as: CritiqueProduced.self).payload
                replies[reply.requestID, default: []].append(reply)
            }
        }
        // Late duplicates of the last batch, if any, arrive within a moment.
        for message in try await consumer.poll(maxMessages: 1_000, timeout: .seconds(1)) {
            let reply = try codec.decode(message.value, as: CritiqueProduced.self).payload
            replies[reply.requestID, default: []].append(reply)
        }
        return replies
    }

    private func collectDeadLetters(bus: any MessageBus, topic: String, group: String, count: Int) async throws -> [DeadLetter] {
        let consumer = try bus.makeConsumer(topics: [topic], group: group)
        defer { Task { await consumer.close() } }
        var letters: [DeadLetter] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while letters.count < count, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                letters.append(try DeadLetter.decode(message.value))
            }
        }
        return letters
    }

    /// A valid event's JSON with its payload changed by `edit` (to send what the codec refuses to encode).
    static func edited(_ bytes: [UInt8], _ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        var payload = try #require(object["payload"] as? [String: Any])
        edit(&payload)
        object["payload"] = payload
        return [UInt8](try JSONSerialization.data(withJSONObject: object))
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

/// One test's critic topics and request builder.
struct CriticTopics {
    let requests: String
    let replies: String
    let checkpoints: String

    init(_ context: EndToEndContext) {
        requests = "e2e.critic.requests.\(context.suffix)"
        replies = "e2e.critic.replies.\(context.suffix)"
        checkpoints = "e2e.critic.checkpoints.\(context.suffix)"
    }

    func request(_ id: String, steps: Int = 2, answer: String = "Share a weekly summary and a check-in button.",
                 replyTopic: String? = nil, deadlineMs: Int64? = nil, checkpoint: String? = nil) -> CritiqueRequested {
        CritiqueRequested(
            requestID: id, replyTopic: replyTopic ?? replies, queryID: "q-\(id)",
            profile: UserProfile(profileID: "p-1", statedPreference: "I prefer plans that leave me independent."),
            question: "How do I keep my family informed about my trips without constant calls?", responseID: "r-\(id)",
            steps: (0..<steps).map { "consider part \($0 + 1) of the plan" }, answer: answer,
            deadlineMs: deadlineMs, criticCheckpointID: checkpoint)
    }

    func encoded(_ request: CritiqueRequested) throws -> [UInt8] {
        try EventCodec().encode(EventEnvelope(payload: request, producer: "e2e-tests"))
    }
}

extension EndToEndContext {
    /// Starts a critic replica (`critic serve --backend fixture`) on this test's topics and schema.
    func startCritic(_ name: String, topics: CriticTopics, extraArguments: [String] = [],
                     logLevel: String? = nil) throws -> ChildProcess {
        var environment = childEnvironment
        if let logLevel { environment["CDRA_LOG_LEVEL"] = logLevel }
        return try ChildProcess.start(
            executable: Self.binDirectory.appendingPathComponent("critic"),
            arguments: ["serve", "--backend", "fixture", "--group", "e2e-critic-\(suffix)", "--replica-id", name,
                        "--requests-topic", topics.requests, "--critiques-topic", topics.replies,
                        "--checkpoints-topic", topics.checkpoints, "--http-port", "-1"] + extraArguments,
            environment: environment, logName: "\(suffix)-critic-\(name)")
    }
}
