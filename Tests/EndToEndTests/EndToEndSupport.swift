import Bus
import ServiceRuntime
import Events
import Foundation
import Logging
import Store
import Testing

/// What every end-to-end test needs: the local stack's addresses, the built executables, a
/// private database schema and private topic names.
struct EndToEndContext {
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let environment = ProcessInfo.processInfo.environment
    /// The stack's addresses as a service would resolve them (the one reader of the environment).
    static let options = try! ServiceOptions.parse([])
    var brokers: String { Self.options.kafkaBrokers }
    var databaseURL: String { Self.options.databaseURL() }
    var schema: String { "e2e_\(suffix)" }
    var queriesTopic: String { "e2e.queries.\(suffix)" }
    var annotationsTopic: String { "e2e.annotations.\(suffix)" }
    var group: String { "e2e-council-\(suffix)" }

    /// The folder holding `cdra` and `council-generator`: CDRA_BIN_DIR, or beside the test bundle.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CDRA_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("council-generator").path) {
                return url
            }
        }
        return URL(fileURLWithPath: ".build/release")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Environment for a child process: the stack's addresses plus this test's schema.
    var childEnvironment: [String: String] {
        var env = environment
        env["CDRA_KAFKA_BROKERS"] = brokers
        env["CDRA_DATABASE_URL"] = databaseURL
        env["CDRA_DATABASE_SCHEMA"] = schema
        env["CDRA_LOG_LEVEL"] = env["CDRA_E2E_LOG_LEVEL"] ?? "info"
        return env
    }

    func makeDatabase() -> Database {
        var config = DatabaseConfiguration(url: databaseURL, applicationName: "e2e-tests")
        config.schema = schema
        return Database(configuration: config)
    }

    func makeBus() throws -> KafkaBus {
        try KafkaBus(configuration: KafkaConfiguration(brokers: brokers, clientID: "e2e-tests"),
                     logger: Logger(label: "e2e"))
    }

    /// Starts a council-generator replica on this test's topics, group and schema.
    func startCouncilGenerator(_ name: String, extraArguments: [String] = []) throws -> ChildProcess {
        try ChildProcess.start(
            executable: Self.binDirectory.appendingPathComponent("council-generator"),
            arguments: ["--group", group, "--replica-id", name, "--queries-topic", queriesTopic,
                        "--annotations-topic", annotationsTopic, "--http-port", "-1"] + extraArguments,
            environment: childEnvironment, logName: "\(suffix)-\(name)")
    }

    func count(_ database: Database, _ sql: String, _ parameters: [PostgresValue?] = []) async throws -> Int {
        try await database.withConnection { try $0.execute(sql, parameters)[0].int(0) ?? 0 }
    }

    /// Waits until the consumer has processed `expected` events, or fails after `timeout`.
    func waitForProcessed(_ database: Database, expected: Int, consumer: String = "council-generator",
                          timeout: Duration = .seconds(300)) async throws -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var seen = 0
        while clock.now < deadline {
            seen = (try? await count(database, "SELECT count(*) FROM processed_events WHERE consumer = $1", [.text(consumer)])) ?? seen
            if seen >= expected { return seen }
            try await Task.sleep(for: .milliseconds(250))
        }
        return seen
    }

    func dropSchema(_ database: Database) async {
        _ = try? await database.withConnection {
            try $0.execute("DROP SCHEMA IF EXISTS \(PostgresConnection.quoteIdentifier(schema)) CASCADE")
        }
        database.shutdown()
    }

    /// Builds `count` distinct submitted-query envelopes.
    func makeQueries(_ count: Int, prefix: String = "q") -> [EventEnvelope<QuerySubmitted>] {
        (0..<count).map { i in
            EventEnvelope(payload: QuerySubmitted(
                queryID: "\(prefix)-\(suffix)-\(i)",
                profile: UserProfile(profileID: "profile-\(i % 50)", statedPreference: "I prefer plans that respect my privacy."),
                question: "I don't want my family tracking me all the time; how can I share my location \(i % 7 == 0 ? "without constantly calling" : "safely")?",
                topic: "Personal Safety"), producer: "e2e-tests")
        }
    }

    func send(_ envelopes: [EventEnvelope<QuerySubmitted>], bus: any MessageBus) async throws {
        let codec = EventCodec()
        for chunk in stride(from: 0, to: envelopes.count, by: 2_000).map({ envelopes[$0..<min($0 + 2_000, envelopes.count)] }) {
            try await bus.send(try chunk.map {
                OutgoingMessage(topic: queriesTopic, key: Array($0.payload.queryID.utf8), value: try codec.encode($0))
            })
        }
    }
}

/// A child process whose output goes to a log file under .build/e2e-logs, killed if still running
/// when the test ends.
final class ChildProcess: @unchecked Sendable {
    let process: Process
    let logURL: URL

    static func start(executable: URL, arguments: [String], environment: [String: String], logName: String) throws -> ChildProcess {
        let logURL = EndToEndContext.repositoryRoot.appendingPathComponent(".build/e2e-logs/\(logName).log")
        return ChildProcess(process: try LoggedProcess.start(executable: executable, arguments: arguments,
                                                             environment: environment, logURL: logURL), logURL: logURL)
    }

    private init(process: Process, logURL: URL) {
        self.process = process
        self.logURL = logURL
    }

    /// SIGKILL: no chance to commit or flush, like a crashed machine.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
    }

    /// SIGTERM, then wait for a clean exit; returns the exit status.
    @discardableResult
    func terminate(timeout: TimeInterval = 30) -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill() }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Runs a program that does not daemonize to completion; returns its exit status and what it
    /// wrote to standard output and standard error.
    static func runCapturing(_ path: String, _ arguments: [String], environment: [String: String],
                             timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let child = try start(executable: URL(fileURLWithPath: path), arguments: arguments, environment: environment,
                              logName: "run-\(URL(fileURLWithPath: path).lastPathComponent)-\(UUID().uuidString.prefix(8))")
        let deadline = Date().addingTimeInterval(timeout)
        while child.process.isRunning && Date() < deadline { usleep(20_000) }
        if child.process.isRunning { child.kill() }
        return (child.process.terminationStatus, child.log)
    }

    /// Runs a program to completion and returns its exit status. Spawned and reaped directly:
    /// Foundation's `Process.waitUntilExit` can miss the exit of a script whose children
    /// daemonize (pg_ctl starting the server) and wait forever.
    static func runToCompletion(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Int32 {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        let spawned = envp.map { posix_spawn(&pid, path, nil, nil, argv, $0) } ?? posix_spawn(&pid, path, nil, nil, argv, environ)
        guard spawned == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }

    deinit { if process.isRunning { kill() } }
}
