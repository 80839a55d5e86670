import Bus
import DeepPrefTesting
import Events
import Foundation
import ServiceRuntime
import Store
import Testing

/// The evaluator against the real local stack: the real `policy-trainer` (a tiny run on the
/// step oracle, announcing its warm start and its checkpoints), `critic` (oracle backend) and
/// `evaluator` executables, the real broker and PostgreSQL.
@Suite("evaluator end to end", .serialized)
struct EvaluatorEndToEndTests {
    static let perSplit = 6
    static let splits = ["test", "test_perturbed"]

    static let config = """
        {"model": {"vocabularySize": 512, "contextLength": 320, "layerCount": 1, "headCount": 2, "channelCount": 48},
         "tokenizerItems": 40, "sftEpochs": 40, "sftBatchSize": 8, "sftLearningRate": 0.003,
         "groupSize": 4, "promptsPerStep": 2, "steps": 3, "maxNewTokens": 64, "microBatch": 8, "learningRate": 0.0003,
         "evalEvery": 0, "evalPrompts": 4, "checkpointEvery": 3,
         "hackingGuard": {"oracleShare": 0.25, "gapThreshold": 0.3, "patience": 3, "maxRefreshes": 2}}
        """

    struct Setup {
        var context: EndToEndContext
        var database: Database
        var configPath: String
        var checkpoints: String
        var evaluations: String
        var requests: String
        var environment: [String: String]
    }

    /// A schema with 40 train, 8 validation and 6 + 6 test queries with their annotations, the
    /// config file, and this test's topics in the children's environment.
    static func setUp() async throws -> Setup {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        try await Migrator.migrate(database)
        let items = Fixture.shortItems(48 + 2 * perSplit)
        let events = items.enumerated().map { i, item -> (eventID: UUID, topic: String, partition: Int32, offset: Int64, payload: QuerySubmitted) in
            var q = item.query
            q.split = i < 40 ? "train" : i < 48 ? "validation" : i < 48 + perSplit ? "test" : "test_perturbed"
            return (UUID(), "e2e", 0, Int64(i), q)
        }
        try await database.withConnection { connection in
            try QueryRepository(connection).storeSubmittedQueries(events, consumer: "e2e-tests")
            try AnnotationRepository(connection).store(items.map { ($0.annotation, UUID()) })
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("evaluator-\(context.suffix).json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let s = context.suffix
        var environment = context.childEnvironment
        environment["CDRA_TOPIC_CRITIQUES"] = "e2e.critiques.\(s)"
        environment["CDRA_TOPIC_CHECKPOINTS"] = "e2e.checkpoints.\(s)"
        environment["CDRA_TOPIC_EVALUATIONS"] = "e2e.evaluations.\(s)"
        environment["CDRA_TOPIC_CRITIQUE_REQUESTS"] = "e2e.evaluator.requests.\(s)"
        return Setup(context: context, database: database, configPath: path, checkpoints: "e2e.checkpoints.\(s)",
                     evaluations: "e2e.evaluations.\(s)", requests: "e2e.evaluator.requests.\(s)", environment: environment)
    }

    /// A short policy run scored by the in-process oracle; it announces its warm start and its
    /// step-3 checkpoint on this test's checkpoint topic.
    static func train(_ s: Setup, run: String) throws {
        let trainer = try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("policy-trainer"),
            arguments: ["train", "--config", s.configPath, "--run-id", run, "--scorer", "oracle"],
            environment: s.environment, logName: "\(s.context.suffix)-evaluator-trainer-\(run)")
        #expect(PolicyTrainerEndToEndTests.wait(trainer) == 0, "trainer log: \(trainer.log.suffix(3000))")
    }

    static func startCritic(_ s: Setup) throws -> ChildProcess {
        try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("critic"),
            arguments: ["serve", "--backend", "oracle", "--group", "e2e-evaluator-critic-\(s.context.suffix)", "--http-port", "-1"],
            environment: s.environment, logName: "\(s.context.suffix)-evaluator-critic")
    }

    static func startEvaluator(_ s: Setup, _ name: String) throws -> ChildProcess {
        try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("evaluator"),
            arguments: ["serve", "--group", "e2e-evaluator-\(s.context.suffix)", "--replica-id", name, "--limit", "\(perSplit)",
                        "--max-new-tokens", "64", "--critique-timeout", "3", "--resends", "0", "--http-port", "-1"],
            environment: s.environment, logName: "\(s.context.suffix)-evaluator-\(name)")
    }

    static func storedRuns(_ s: Setup) async throws -> Int {
        try await s.context.count(s.database, "SELECT count(*) FROM evaluation_runs")
    }

    /// Waits until `count` evaluation runs are stored (or the evaluator exited, or 300 s passed).
    static func waitForRuns(_ count: Int, _ s: Setup, evaluator: ChildProcess) async throws {
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, evaluator.process.isRunning, try await storedRuns(s) < count { usleep(50_000) }
    }

    /// The `evaluation_published` events on the results topic, by event id.
    static func published(_ s: Setup, until expected: Int) async throws -> [UUID: EvaluationPublished] {
        let bus = try s.context.makeBus()
        let consumer = try bus.makeConsumer(topics: [s.evaluations], group: "e2e-evaluations-reader-\(UUID().uuidString.prefix(8))")
        defer { Task { await consumer.close() } }
        let codec = EventCodec()
        var events: [UUID: EvaluationPublished] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while events.count < expected, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 1_000, timeout: .milliseconds(500)) {
                let envelope = try codec.decode(message.value, as: EvaluationPublished.self)
                events[envelope.eventID] = envelope.payload
            }
        }
        // Late copies (a replay publishes again under the same ids) arrive within a moment.
        for message in try await consumer.poll(maxMessages: 1_000, timeout: .seconds(1)) {
            let envelope = try codec.decode(message.value, as: EvaluationPublished.self)
            events[envelope.eventID] = envelope.payload
        }
        return events
    }

    /// Exactly one set of rows per checkpoint and split, and one published result for each.
    static func expectOneSetPerCheckpointAndSplit(_ s: Setup, checkpoints: Int) async throws {
        let runs = checkpoints * splits.count
        let c = s.context, db = s.database
        #expect(try await c.count(db, "SELECT count(*) FROM evaluation_runs") == runs)
        #expect(try await c.count(db, "SELECT count(DISTINCT (checkpoint_id, split)) FROM evaluation_runs") == runs)
        #expect(try await c.count(db, "SELECT count(*) FROM evaluation_examples") == runs * perSplit)
        #expect(try await c.count(db, """
            SELECT count(*) FROM (SELECT evaluation_id, query_id FROM evaluation_examples GROUP BY 1, 2 HAVING count(*) > 1) d
            """) == 0)
        #expect(try await c.count(db, """
            SELECT count(*) FROM (SELECT evaluation_run, metric, topic FROM evaluations
                                  GROUP BY 1, 2, 3 HAVING count(*) > 1) d
            """) == 0)
        #expect(try await c.count(db, "SELECT count(DISTINCT evaluation_run) FROM evaluations WHERE topic IS NULL") == runs)
        #expect(try await c.count(db, "SELECT count(*) FROM evaluations WHERE evaluation_run IS NULL") == 0)
        // Every whole-split run has the published layout's measures.
        for metric in ["acc_pf", "acc_da", "acc_mis", "m_dm", "m_ie", "hidden_pref_recall", "format_valid", "oracle_score"] {
            #expect(try await c.count(db, "SELECT count(*) FROM evaluations WHERE topic IS NULL AND metric = $1", [.text(metric)]) == runs,
                    "measure \(metric)")
        }
        // The RL checkpoints are compared with their warm start.
        #expect(try await c.count(db, "SELECT count(*) FROM evaluation_runs WHERE baseline_checkpoint_id IS NOT NULL") == runs - splits.count)

        let stored = Set(try await db.withConnection { connection in
            try connection.execute("SELECT evaluation_id FROM evaluation_runs").map { try $0.string("evaluation_id")! }
        })
        let events = try await published(s, until: runs)
        #expect(events.count == runs, "published event ids: \(events.keys)")
        #expect(Set(events.values.map(\.evaluationID)) == stored)
    }

    @Test("SIGKILLed mid-evaluation and restarted, the evaluator stores one set of rows per checkpoint and split and publishes each once")
    func exactlyOnceAcrossSIGKILL() async throws {
        let s = try await Self.setUp()
        defer { Task { await s.context.dropSchema(s.database) } }
        try Self.train(s, run: "e2e-eval-a")

        // No critic is running: the evaluator samples its first split, then waits for critiques
        // that do not come (retrying). It is killed there, with nothing stored.
        let first = try Self.startEvaluator(s, "first")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, first.process.isRunning, !first.log.contains("sampling") { usleep(50_000) }
        #expect(first.log.contains("sampling"), "the evaluator never sampled; log: \(first.log.suffix(3000))")
        try await Task.sleep(for: .seconds(1))
        #expect(first.process.isRunning, "evaluator log: \(first.log.suffix(3000))")
        first.kill()
        #expect(try await Self.storedRuns(s) == 0)

        // With a critic, killed again as soon as one run is stored (its event is not committed yet
        // unless the whole checkpoint was done), then restarted once more.
        let critic = try Self.startCritic(s)
        defer { critic.terminate() }
        let second = try Self.startEvaluator(s, "second")
        try await Self.waitForRuns(1, s, evaluator: second)
        #expect(second.process.isRunning, "evaluator log: \(second.log.suffix(3000))")
        second.kill()
        let third = try Self.startEvaluator(s, "third")
        try await Self.waitForRuns(4, s, evaluator: third)
        // A moment for any replay the restart would wrongly turn into new rows.
        try await Task.sleep(for: .seconds(3))
        #expect(third.terminate() == 0, "evaluator log: \(third.log.suffix(3000))")
        try await Self.expectOneSetPerCheckpointAndSplit(s, checkpoints: 2)
    }

    @Test("a checkpoint event for a checkpoint not in the database, or whose bytes fail their sha256, is dead-lettered with the reason, and the evaluator keeps going")
    func badCheckpointsAreDeadLettered() async throws {
        let s = try await Self.setUp()
        defer { Task { await s.context.dropSchema(s.database) } }
        try Self.train(s, run: "e2e-eval-b")
        let critic = try Self.startCritic(s)
        defer { critic.terminate() }
        let evaluator = try Self.startEvaluator(s, "dlq")
        try await Self.waitForRuns(4, s, evaluator: evaluator)

        let stepCheckpoint = "e2e-eval-b-step-3"
        let sizeBytes = Int64(try await s.context.count(s.database, "SELECT octet_length(safetensors) FROM checkpoints WHERE checkpoint_id = $1",
                                                        [.text(stepCheckpoint)]))
        let missing = CheckpointPublished(checkpointID: "policy-\(s.context.suffix)-missing", modelKind: .policy, runID: "e2e-eval-b",
                                          step: 9, algorithm: .cdpa, sha256: String(repeating: "0", count: 64), sizeBytes: 1)
        let mismatch = CheckpointPublished(checkpointID: stepCheckpoint, modelKind: .policy, runID: "e2e-eval-b", step: 3,
                                           algorithm: .cdpa, sha256: String(repeating: "a", count: 64), sizeBytes: sizeBytes)
        let bus = try s.context.makeBus()
        let codec = EventCodec()
        try await bus.send(try [missing, mismatch].map {
            OutgoingMessage(topic: s.checkpoints, key: Array($0.runID.utf8), value: try codec.encode(EventEnvelope(payload: $0, producer: "e2e-tests")))
        })
        // After them, a new run's checkpoint is still evaluated.
        try Self.train(s, run: "e2e-eval-c")
        try await Self.waitForRuns(6, s, evaluator: evaluator)

        let consumer = try bus.makeConsumer(topics: [DeadLetter.topic(for: s.checkpoints)], group: "e2e-evaluator-dlq-\(s.context.suffix)")
        var letters: [DeadLetter] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while letters.count < 2, ContinuousClock.now < deadline {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                letters.append(try DeadLetter.decode(message.value))
            }
        }
        // `cdra dlq replay` sends both back and the evaluator rejects them again; a second replay in
        // the same group sends only the two records that arrived since, not the first two again.
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let dlq = DeadLetter.topic(for: s.checkpoints)
        let group = "e2e-dlq-replay-\(s.context.suffix)"
        let replay = try ChildProcess.runCapturing(cdra, ["dlq", "replay", dlq, "--group", group, "--idle-seconds", "4"],
                                                   environment: s.environment)
        #expect(replay.status == 0 && replay.output.contains("2 replayed"), "cdra dlq replay: \(replay.output)")
        while letters.count < 4, ContinuousClock.now < deadline + .seconds(60) {
            for message in try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)) {
                letters.append(try DeadLetter.decode(message.value))
            }
        }
        let again = try ChildProcess.runCapturing(cdra, ["dlq", "replay", dlq, "--group", group, "--idle-seconds", "4"],
                                                  environment: s.environment)
        #expect(again.status == 0 && again.output.contains("2 replayed"), "second replay (the two new records): \(again.output)")
        await consumer.close()
        #expect(letters.count == 4, "dead letters after the replay: \(letters.map(\.reason))")
        #expect(evaluator.process.isRunning, "evaluator log: \(evaluator.log.suffix(3000))")
        #expect(evaluator.terminate() == 0, "evaluator log: \(evaluator.log.suffix(3000))")
        #expect(letters.contains { $0.reason.contains("policy-\(s.context.suffix)-missing") && $0.reason.contains("is not in the database") },
                "dead letters: \(letters.map(\.reason))")
        #expect(letters.contains { $0.reason.contains(stepCheckpoint) && $0.reason.contains("SHA-256") },
                "dead letters: \(letters.map(\.reason))")
        // The rejected events wrote nothing: the two runs' checkpoints (one shared warm start) on both splits.
        try await Self.expectOneSetPerCheckpointAndSplit(s, checkpoints: 3)
    }
}
