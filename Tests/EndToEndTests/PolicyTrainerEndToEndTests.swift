import Bus
import DeepPrefTesting
import Events
import Foundation
import ServiceRuntime
import Store
import Testing

/// The policy trainer against the real local stack: the real `policy-trainer` and `critic`
/// executables (the critic on its step-oracle backend), the real broker and PostgreSQL, a tiny
/// policy on short annotated queries.
@Suite("policy trainer end to end", .serialized)
struct PolicyTrainerEndToEndTests {
    static let steps = 10

    /// The tiny configuration: trains its warm start in seconds.
    static let config = """
        {"model": {"vocabularySize": 512, "contextLength": 320, "layerCount": 1, "headCount": 2, "channelCount": 48},
         "tokenizerItems": 40, "sftEpochs": 40, "sftBatchSize": 8, "sftLearningRate": 0.003,
         "groupSize": 4, "promptsPerStep": 2, "steps": \(steps), "maxNewTokens": 64, "microBatch": 8, "learningRate": 0.0003,
         "evalEvery": 5, "evalPrompts": 4, "checkpointEvery": 3,
         "hackingGuard": {"oracleShare": 0.25, "gapThreshold": 0.3, "patience": 3, "maxRefreshes": 2}}
        """

    struct Setup {
        var context: EndToEndContext
        var database: Database
        var configPath: String
        var requests: String
        var environment: [String: String]
    }

    /// A schema with 40 train and 8 validation queries and their annotations, the config file, and
    /// this test's topics in the children's environment.
    static func setUp() async throws -> Setup {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        try await Migrator.migrate(database)
        let items = Fixture.shortItems(48)
        let events = items.enumerated().map { i, item -> (eventID: UUID, topic: String, partition: Int32, offset: Int64, payload: QuerySubmitted) in
            var q = item.query
            q.split = i < 40 ? "train" : "validation"
            return (UUID(), "e2e", 0, Int64(i), q)
        }
        try await database.withConnection { connection in
            try QueryRepository(connection).storeSubmittedQueries(events, consumer: "e2e-tests")
            try AnnotationRepository(connection).store(items.map { ($0.annotation, UUID()) })
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("policy-\(context.suffix).json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        var environment = context.childEnvironment
        environment["CDRA_TOPIC_CRITIQUES"] = "e2e.critiques.\(context.suffix)"
        environment["CDRA_TOPIC_CHECKPOINTS"] = "e2e.checkpoints.\(context.suffix)"
        return Setup(context: context, database: database, configPath: path, requests: "e2e.policy.requests.\(context.suffix)",
                     environment: environment)
    }

    static func startCritic(_ s: Setup) throws -> ChildProcess {
        try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("critic"),
            arguments: ["serve", "--backend", "oracle", "--group", "e2e-policy-critic-\(s.context.suffix)",
                        "--requests-topic", s.requests, "--http-port", "-1"],
            environment: s.environment, logName: "\(s.context.suffix)-policy-critic")
    }

    static func startTrainer(_ s: Setup, run: String, extra: [String] = []) throws -> ChildProcess {
        try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("policy-trainer"),
            arguments: ["train", "--config", s.configPath, "--run-id", run, "--requests-topic", s.requests,
                        "--critique-timeout", "30"] + extra,
            environment: s.environment, logName: "\(s.context.suffix)-trainer-\(run)-\(UUID().uuidString.prefix(4))")
    }

    static func wait(_ child: ChildProcess, timeout: TimeInterval = 300) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while child.process.isRunning && Date() < deadline { usleep(50_000) }
        if child.process.isRunning { child.kill() }
        return child.process.terminationStatus
    }

    /// Returns once the run has stored step `step` (or its trainer exited, or 300 s passed).
    static func waitForStep(_ step: Int, of run: String, trainer: ChildProcess, _ s: Setup) async {
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, trainer.process.isRunning {
            let stored = try? await s.context.count(s.database, "SELECT coalesce(max(step), 0) FROM training_metrics WHERE run_id = $1",
                                                    [.text(run)])
            if (stored ?? 0) >= step { return }
            usleep(20_000)
        }
    }

    /// Every metric of a run by (name, step), without the timing ones.
    static func metrics(_ s: Setup, run: String) async throws -> [String: Double] {
        let timing = ["sampling_s", "critique_s", "update_s", "step_s", "tokens_per_s", "critique_p50_ms", "critique_p99_ms",
                      "critique_resends", "replies_unknown", "replies_duplicate"]
        let rows = try await s.database.withConnection { connection in
            try connection.execute("SELECT name, step, value FROM training_metrics WHERE run_id = $1 AND NOT (name = ANY($2::text[]))",
                                   [.text(run), .textArray(timing)])
        }
        var out: [String: Double] = [:]
        for row in rows { out["\(try row.string("name")!)@\(try row.int("step")!)"] = try row.double("value")! }
        return out
    }

    @Test("SIGKILLed mid-run and restarted, the trainer resumes from its last checkpoint and repeats the uninterrupted run's metrics bit for bit")
    func resumeAfterSIGKILLIsExact() async throws {
        let s = try await Self.setUp()
        defer { Task { await s.context.dropSchema(s.database) } }
        let critic = try Self.startCritic(s)
        defer { critic.terminate() }

        // An unknown reply waiting on run B's reply topic: ignored and counted.
        let bus = try s.context.makeBus()
        let replyTopic = "e2e.critiques.\(s.context.suffix).policy.b"
        try await bus.createTopic(replyTopic, partitions: 4)
        let stranger = CritiqueProduced(requestID: "nobody-asked", responseID: "r-x", status: .failed, error: "test")
        try await bus.send([OutgoingMessage(topic: replyTopic, key: "nobody-asked",
                                            value: try EventCodec().encode(EventEnvelope(payload: stranger, producer: "e2e-tests")))])

        let straight = try Self.startTrainer(s, run: "a")
        #expect(Self.wait(straight) == 0, "log: \(straight.log.suffix(3000))")

        let killed = try Self.startTrainer(s, run: "b")
        await Self.waitForStep(4, of: "b", trainer: killed, s)
        #expect(killed.process.isRunning, "run b finished before it could be killed; log: \(killed.log.suffix(2000))")
        killed.kill()
        let resumed = try Self.startTrainer(s, run: "b")
        #expect(Self.wait(resumed) == 0, "log: \(resumed.log.suffix(3000))")
        #expect(resumed.log.contains("resuming from b-step-"), "the restart resumed from a checkpoint: \(resumed.log.suffix(2000))")

        let a = try await Self.metrics(s, run: "a"), b = try await Self.metrics(s, run: "b")
        #expect(!a.isEmpty && a.keys.contains("reward_mean@\(Self.steps)") && a.keys.contains("eval_oracle_score@0"))
        #expect(a == b, "differences: \(a.filter { b[$0.key] != $0.value }.prefix(10))")
        // One row per metric and step, nothing duplicated; every sample stored once.
        #expect(try await s.context.count(s.database, "SELECT count(*) FROM training_metrics WHERE run_id = 'b' AND name = 'reward_mean'") == Self.steps)
        #expect(try await s.context.count(s.database, "SELECT count(*) FROM responses WHERE response_id LIKE 'b/%'") == Self.steps * 8)
        #expect(try await s.context.count(s.database, "SELECT count(*) FROM trainer_states WHERE run_id = 'b'") >= 3)
        let unknown = try await s.context.count(s.database, "SELECT coalesce(sum(value), 0)::int FROM training_metrics WHERE run_id = 'b' AND name = 'replies_unknown'")
        #expect(unknown >= 1, "the stranger's reply was counted")
    }

    @Test("faults: a critic that never answers times out with a clear message; a corrupted checkpoint is refused; PostgreSQL restarted mid-run loses no step")
    func faults() async throws {
        let s = try await Self.setUp()
        defer { Task { await s.context.dropSchema(s.database) } }

        // No critic consumes the requests: the step fails after the re-sends, saying so.
        let silent = try Self.startTrainer(s, run: "silent", extra: ["--critique-timeout", "2", "--resends", "1"])
        #expect(Self.wait(silent) != 0)
        #expect(silent.log.contains("got no reply after 2 sends"), "log: \(silent.log.suffix(2000))")
        #expect(silent.log.contains("is a critic"), "log: \(silent.log.suffix(2000))")

        let critic = try Self.startCritic(s)
        defer { critic.terminate() }

        // PostgreSQL restarted while the run writes: retried, every step stored once.
        let run = try Self.startTrainer(s, run: "pg")
        await Self.waitForStep(2, of: "pg", trainer: run, s)
        try CrashRecoveryEndToEndTests.stack("restart-pg")
        #expect(Self.wait(run) == 0, "log: \(run.log.suffix(3000))")
        #expect(run.log.contains("trying again"), "the restart was felt and retried: \(run.log.suffix(2000))")
        // This test's own pooled connections died with the server too.
        _ = try await retrying("the first query after the restart", log: { _ in }) {
            try await s.context.count(s.database, "SELECT 1")
        }
        #expect(try await s.context.count(s.database, "SELECT count(DISTINCT step) FROM training_metrics WHERE run_id = 'pg' AND name = 'reward_mean'") == Self.steps)
        #expect(try await s.context.count(s.database, "SELECT count(*) FROM training_metrics WHERE run_id = 'pg' AND name = 'reward_mean'") == Self.steps)

        // A corrupted checkpoint row (its sha256 recomputed, so only the file's own checksum can tell) is refused.
        try await s.database.withConnection { connection in
            try connection.execute("""
                UPDATE checkpoints SET safetensors = overlay(safetensors PLACING '\\xff'::bytea FROM octet_length(safetensors) - 100),
                    sha256 = encode(sha256(overlay(safetensors PLACING '\\xff'::bytea FROM octet_length(safetensors) - 100)), 'hex')
                WHERE checkpoint_id = 'pg-step-\(Self.steps)'
                """)
        }
        let broken = try Self.startTrainer(s, run: "pg")
        #expect(Self.wait(broken) != 0)
        #expect(broken.log.contains("cannot be resumed") && broken.log.contains("Nothing was loaded"), "log: \(broken.log.suffix(2000))")
    }
}
