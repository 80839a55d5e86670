#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle
import ServiceRuntime
import Store
import Testing
import UnixSignals

/// A stand-in for a consumer loop: processes "batches" until graceful shutdown, then finishes the
/// batch in hand and flushes — the shape DESIGN asks of every service.
private struct BatchLoop: Service {
    let journal: Box<[String]>
    /// Held closed, the flush waits: lets a test look at the service while it drains.
    let flushGate: Box<Bool>
    var failAfterStart: Bool = false

    struct Boom: Error, Equatable {}

    func run() async throws {
        journal.update { $0.append("started") }
        if failAfterStart {
            try await Task.sleep(for: .milliseconds(50))
            journal.update { $0.append("threw") }
            throw Boom()
        }
        var batches = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            batches += 1 // "process a batch"
            try? await Task.sleep(for: .milliseconds(5))
        }
        journal.update { $0.append("draining after \(batches > 0 ? "some" : "no") batches") }
        while !flushGate.get() && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        journal.update { $0.append(Task.isCancelled ? "cancelled" : "flushed") }
    }
}

private func options(_ arguments: [String] = [], env: [String: String] = [:]) throws -> ServiceOptions {
    try ServiceOptions.parse(arguments, environment: env)
}

private func capturingLogger(_ lines: LogLines) -> Logger {
    Logger(label: "runtime-test") { label in
        ServiceLogHandler(label: label, service: "runtime-test", format: .json, logLevel: .trace,
                          output: .lines { lines.append($0) })
    }
}

// Serialized: the signal test sends a real signal to this process.
@Suite("ServiceRunner lifecycle", .serialized, .timeLimit(.minutes(1)))
struct ServiceRunnerTests {
    @Test func triggerGracefulShutdownRunsTheServiceShutdownPath() async throws {
        let journal = Box<[String]>([])
        let runner = try ServiceRunner(name: "runtime-test", options: try options(),
                                       services: [BatchLoop(journal: journal, flushGate: Box(true))])
        let running = Task { try await runner.run() }
        #expect(await eventually { journal.get().contains("started") })
        await runner.triggerGracefulShutdown()
        try await running.value
        #expect(journal.get() == ["started", "draining after some batches", "flushed"])
    }

    @Test func aSignalStartsGracefulShutdown() async throws {
        // SIGUSR2 stands in for SIGTERM: same code path (ServiceGroup's signal handling), but
        // it cannot stop other tests running in this process.
        let journal = Box<[String]>([])
        let runner = try ServiceRunner(name: "runtime-test", options: try options(),
                                       services: [BatchLoop(journal: journal, flushGate: Box(true))],
                                       gracefulShutdownSignals: [.sigusr2])
        let running = Task { try await runner.run() }
        // The group installs its signal handlers before it starts any service.
        #expect(await eventually { journal.get().contains("started") })
        kill(getpid(), SIGUSR2)
        try await running.value
        #expect(journal.get().last == "flushed")
    }

    @Test func healthTurns503WhileServicesDrainAndMetricsStayUp() async throws {
        let journal = Box<[String]>([])
        let gate = Box(false)
        let runner = try ServiceRunner(name: "runtime-test", options: try options(),
                                       healthChecks: [HealthCheck("database") { true }],
                                       services: [BatchLoop(journal: journal, flushGate: gate)])
        let port = try #require(runner.httpPort)
        let running = Task { try await runner.run() }
        #expect(await eventually { journal.get().contains("started") })
        let before = try await LoopbackClient.get(port: port, "/health")
        #expect(before.status == 200)

        await runner.triggerGracefulShutdown()
        #expect(await eventually { journal.get().contains("draining after some batches") })
        let during = try await LoopbackClient.get(port: port, "/health")
        #expect(during.status == 503)
        #expect(during.body.contains("\"status\":\"shutting_down\""))
        #expect(try await LoopbackClient.get(port: port, "/metrics").status == 200)

        gate.set(true)
        try await running.value
        #expect(journal.get().last == "flushed")
        // The operations server stopped last, after the service flushed.
        #expect(throws: LoopbackClient.Failure.self) { _ = try LoopbackClient(port: port) }
    }

    @Test func aFailingServiceShutsSiblingsDownGracefullyAndTheErrorSurfaces() async throws {
        let failing = Box<[String]>([])
        let sibling = Box<[String]>([])
        let runner = try ServiceRunner(name: "runtime-test", options: try options(["--http-port", "-1"]),
                                       services: [BatchLoop(journal: sibling, flushGate: Box(true)),
                                                  BatchLoop(journal: failing, flushGate: Box(true), failAfterStart: true)])
        #expect(runner.httpPort == nil)
        await #expect(throws: BatchLoop.Boom.self) { try await runner.run() }
        #expect(failing.get() == ["started", "threw"])
        #expect(sibling.get().last == "flushed")
    }

    @Test func shutdownTimeoutEscalatesToCancellation() async throws {
        let journal = Box<[String]>([])
        let runner = try ServiceRunner(name: "runtime-test",
                                       options: try options(["--shutdown-timeout-seconds", "1"]),
                                       services: [BatchLoop(journal: journal, flushGate: Box(false))])
        let running = Task { try await runner.run() }
        #expect(await eventually { journal.get().contains("started") })
        let started = Date()
        await runner.triggerGracefulShutdown()
        _ = try? await running.value
        #expect(journal.get().last == "cancelled")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func startupLogShowsRedactedConfigurationAndNoSecret() async throws {
        let secrets = ["sasl-user-31337", "sasl-pass-27182", "db-pass-16180", "url-pass-14142"]
        let opts = try options(["--kafka-security-protocol", "sasl_ssl"],
                               env: ["CDRA_KAFKA_SASL_USERNAME": secrets[0], "CDRA_KAFKA_SASL_PASSWORD": secrets[1],
                                     "CDRA_DATABASE_PASSWORD": secrets[2],
                                     "CDRA_DATABASE_URL": "postgresql://cdra:\(secrets[3])@127.0.0.1:55432/cdra"])
        let lines = LogLines()
        let journal = Box<[String]>([])
        // A service that keeps its client configuration, as a real consumer would.
        struct ConfiguredLoop: Service {
            let kafkaProperties: [String: String]
            let databaseURL: String
            let loop: BatchLoop
            func run() async throws { try await loop.run() }
        }
        let service = ConfiguredLoop(kafkaProperties: opts.kafkaProperties(), databaseURL: opts.databaseURL(),
                                     loop: BatchLoop(journal: journal, flushGate: Box(true)))
        #expect("\(service)".contains(secrets[1])) // what a careless log line would print
        let runner = try ServiceRunner(name: "runtime-test", options: opts,
                                       healthChecks: [HealthCheck("kafka") { false }],
                                       services: [service],
                                       logger: capturingLogger(lines))
        let running = Task { try await runner.run() }
        #expect(await eventually { journal.get().contains("started") })
        _ = try await LoopbackClient.get(port: try #require(runner.httpPort), "/health")
        await runner.triggerGracefulShutdown()
        try await running.value

        let log = lines.all
        let startLine = try #require(log.first { $0.contains("\"message\":\"starting\"") })
        #expect(startLine.contains("sasl.password=***"))
        #expect(startLine.contains("security.protocol=sasl_ssl"))
        #expect(log.contains { $0.contains("graceful shutdown started") })
        #expect(log.contains { $0.contains("\"message\":\"stopped\"") })
        // The group's own (debug) lines name the services; they were captured too.
        #expect(log.contains { $0.contains("ConfiguredLoop") })
        for line in log {
            for secret in secrets {
                #expect(!line.contains(secret), "secret leaked: \(line)")
            }
        }
    }

    @Test func runServiceBootstrapsAndRunsUntilShutdown() async throws {
        // runService is what every main calls; here the service itself ends the run, as a
        // one-shot job would, which shuts the rest of the group down gracefully.
        struct OneShot: Service {
            let done: Box<Bool>
            func run() async throws { done.set(true) }
        }
        let done = Box(false)
        // Against the real local stack: the runtime migrates a private schema and creates a topic.
        let schema = "runtime_test_\(UUID().uuidString.prefix(8).lowercased())"
        let topic = "runtime-test.\(schema)"
        let seen = Box<ServiceContext?>(nil)
        try await runService("runtime-test", options: try options(["--log-level", "warning", "--database-schema", schema],
                                                                   env: ProcessInfo.processInfo.environment),
                             replicaID: "r1", topics: [topic]) { context in
            seen.set(context)
            return [OneShot(done: done)]
        }
        #expect(done.get())
        let context = try #require(seen.get())
        #expect(context.producer == "runtime-test/r1")
        #expect(try await context.bus.partitionCount(of: topic) == 4)
        let database = Database(configuration: context.options.databaseConfiguration(applicationName: "runtime-test"))
        let migrated = try await database.withConnection {
            try $0.execute("SELECT count(*) FROM schema_migrations")[0].int(0) ?? 0
        }
        #expect(migrated > 0)
        _ = try? await database.withConnection { try $0.execute("DROP SCHEMA \(schema) CASCADE") }
        database.shutdown()
    }
}
