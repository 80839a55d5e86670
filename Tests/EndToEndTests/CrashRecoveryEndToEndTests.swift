import Bus
import Events
import Foundation
import Store
import Testing

/// Crashes mid-stream, against the real local stack: 10,000 events through two council-generator
/// replicas in one consumer group, and each test ends with exactly 10,000 rows, none duplicated.
/// Serialized: they kill the broker and crash PostgreSQL, which every other test shares.
@Suite("crash recovery end to end", .serialized)
struct CrashRecoveryEndToEndTests {
    static let total = 10_000

    @Test("(a) the broker is SIGKILLed mid-stream and restarted: nothing lost, nothing twice")
    func brokerKilledMidStream() async throws {
        try await runThroughFault("broker SIGKILL", stackFault: "kill-broker", recovery: "start-broker")
    }

    @Test("(b) PostgreSQL crashes (pg_ctl -m immediate) mid-stream and starts again: nothing lost, nothing twice")
    func postgresCrashedMidStream() async throws {
        try await runThroughFault("PostgreSQL crash", stackFault: "crash-pg", recovery: "start-pg")
    }

    @Test("(c) a consumer is SIGKILLed while its database transaction is open: nothing lost, nothing twice")
    func consumerKilledInsideItsTransaction() async throws {
        try await runThroughFault("consumer SIGKILL inside a transaction") { context, replicas in
            // Watch pg_stat_activity for replica a's connection inside a transaction, and kill the
            // process the moment it is seen there.
            let watcher = context.makeDatabase()
            defer { watcher.shutdown() }
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                let open = try await watcher.withConnection { connection -> String? in
                    let rows = try connection.execute(
                        """
                        SELECT state FROM pg_stat_activity
                        WHERE application_name = $1 AND xact_start IS NOT NULL
                          AND state IN ('active', 'idle in transaction')
                        """, [.text("council-generator/a")])
                    return rows.isEmpty ? nil : try rows[0].string(0)
                }
                if let state = open {
                    let killed = ContinuousClock.now
                    replicas[0].kill()
                    print("crash (c): replica a killed with its transaction open (state \(state))")
                    replicas.append(try context.startCouncilGenerator("c"))
                    return killed
                }
            }
            Issue.record("replica a was never seen inside a transaction")
            return ContinuousClock.now
        }
    }

    // MARK: - Harness

    /// A fault the stack script injects (`stackFault`) and repairs (`recovery`).
    private func runThroughFault(_ name: String, stackFault: String, recovery: String) async throws {
        try await runThroughFault(name) { _, _ in
            let injected = ContinuousClock.now
            try Self.stack(stackFault)
            try Self.stack(recovery)
            return injected
        }
    }

    /// Starts two replicas, sends the events, injects `fault` once a quarter is stored, and then
    /// checks that every event was stored exactly once. Prints how long recovery took.
    private func runThroughFault(
        _ name: String,
        _ fault: (EndToEndContext, inout [ChildProcess]) async throws -> ContinuousClock.Instant
    ) async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        try await bus.createTopic(context.queriesTopic, partitions: 4)
        try await bus.createTopic(context.annotationsTopic, partitions: 4)
        var replicas = [try context.startCouncilGenerator("a", extraArguments: ["--max-batch", "500"]),
                        try context.startCouncilGenerator("b", extraArguments: ["--max-batch", "500"])]
        try await context.send(context.makeQueries(Self.total), bus: bus)

        let partway = try await context.waitForProcessed(database, expected: Self.total / 4)
        #expect(partway >= Self.total / 4, "no progress before the fault; log: \(replicas[0].log.suffix(2000))")
        let before = try await context.count(database, "SELECT count(*) FROM processed_events")
        let faultAt = try await fault(context, &replicas)
        let back = ContinuousClock.now
        // Processing has resumed once the count rises past what it was when the fault hit.
        let resumed = try await waitForCount(database, context: context, above: max(before, (try? await context.count(database, "SELECT count(*) FROM processed_events")) ?? before))
        let processed = try await context.waitForProcessed(database, expected: Self.total)
        let done = ContinuousClock.now
        print("""
            crash recovery (\(name)): fault injected with \(before) of \(Self.total) stored; \
            component back after \(Self.seconds(back - faultAt)) s; processing resumed \(Self.seconds(resumed - faultAt)) s \
            after the fault; all \(Self.total) stored \(Self.seconds(done - faultAt)) s after it
            """)
        for replica in replicas { _ = replica.terminate() }

        #expect(processed == Self.total, "log a: \(replicas[0].log.suffix(1500)) log b: \(replicas[1].log.suffix(1500))")
        #expect(try await context.count(database, "SELECT count(*) FROM queries") == Self.total)
        #expect(try await context.count(database, "SELECT count(DISTINCT query_id) FROM queries") == Self.total)
        #expect(try await context.count(database, "SELECT count(*) FROM annotations") == Self.total)
        #expect(try await context.count(database, "SELECT count(DISTINCT query_id) FROM annotations") == Self.total)
        #expect(try await context.count(database, "SELECT count(*) FROM processed_events") == Self.total)
    }

    /// The instant the processed count first exceeds `floor` (retrying through database outages).
    private func waitForCount(_ database: Database, context: EndToEndContext, above floor: Int,
                              timeout: Duration = .seconds(300)) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let seen = try? await context.count(database, "SELECT count(*) FROM processed_events"),
               seen > floor || seen >= Self.total {
                return ContinuousClock.now
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return ContinuousClock.now
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// Runs a `Compose/local/stack.sh` subcommand and requires it to succeed.
    static func stack(_ command: String) throws {
        let script = EndToEndContext.repositoryRoot.appendingPathComponent("Compose/local/stack.sh").path
        let status = try ChildProcess.runToCompletion(script, [command])
        guard status == 0 else {
            throw StackCommandFailed(command: command, status: status)
        }
    }

    struct StackCommandFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var description: String { "stack.sh \(command) failed with status \(status)" }
    }
}
