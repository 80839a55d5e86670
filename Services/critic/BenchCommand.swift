import ArgumentParser
import Bus
import DeepPref
import Events
import LanguageModel
import RewardModel
import Foundation
import Logging
import ServiceRuntime
import Settings
import Store

/// `critic bench`: critiques/s and round-trip latency of `critic serve` on the local stack, with
/// one replica and then two, side by side in one run. Every replica is a child process of this
/// executable with one compute thread; requests go through Kafka, replies come back on a reply
/// topic, and every request must be answered exactly once.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Critiques/s and round-trip latency with 1 and then 2 replicas of `critic serve`.")

    @OptionGroup var options: ServiceOptions
    /// Passed on to every replica: backend, micro-batch size and wait, threads, fixture delay.
    @OptionGroup var critic: CriticOptions

    @Option(help: "Critique requests per replica count.")
    var requests = 2_000

    @Option(help: "Requests kept in flight at once (a closed loop: a new one goes out as a reply comes in).")
    var inFlight = 64

    @Option(help: "Partitions of the request topic; at least 2, so that two replicas share the work.")
    var partitions = 4

    @Option(help: "Where to write the JSON results.")
    var out = "bench-results/critic.json"

    /// Replica counts measured, in order.
    static let replicaCounts = [1, 2]

    func validate() throws {
        guard requests > 0, inFlight > 0 else { throw ValidationError("--requests and --in-flight must be positive") }
        guard partitions >= 2 else { throw ValidationError("--partitions must be at least 2, so that two replicas share the work") }
    }

    func run() async throws {
        ServiceLogging.bootstrap(service: "critic-bench", level: .warning, format: options.logFormat)
        let logger = Logger(label: "critic-bench")
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let schema = "bench_critic_\(suffix)"
        var scratch = options.databaseConfiguration(applicationName: "critic-bench")
        scratch.schema = schema
        let database = Database(configuration: scratch)
        defer { database.shutdown() }
        try await Migrator.migrate(database)
        do {
            // The configured schema: its checkpoints and annotations feed the scratch one.
            let source = Database(configuration: options.databaseConfiguration(applicationName: "critic-bench"))
            defer { source.shutdown() }
            try await copyCheckpointIfNeeded(from: source, into: database)
            let templates = try await corpusRequests(from: source)
            let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: logger)
            var phases: [CriticBenchPhase.Result] = []
            for replicas in Self.replicaCounts {
                let phase = CriticBenchPhase(
                    replicas: replicas, requests: requests, inFlight: inFlight, partitions: partitions,
                    suffix: "\(suffix)-\(replicas)", executable: Self.executable, arguments: replicaArguments,
                    environment: replicaEnvironment(schema: schema), bus: bus, database: database, templates: templates)
                FileHandle.standardError.write(Data("bench: \(replicas) replica(s), \(requests) requests, backend \(critic.backend.rawValue)\n".utf8))
                phases.append(try await phase.run())
            }
            await dropSchema(database, schema)
            try report(phases)
        } catch {
            await dropSchema(database, schema)
            throw error
        }
    }

    // MARK: - Set-up

    /// This executable, run again as `critic serve` for each replica.
    static var executable: URL {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
    }

    /// The critic settings every replica runs with (topics, group and name are added per replica).
    var replicaArguments: [String] {
        var arguments = ["serve", "--backend", critic.backend.rawValue, "--max-batch", "\(critic.maxBatch)",
                         "--max-wait-ms", "\(critic.maxWaitMs)", "--threads", "\(critic.threads)", "--http-port", "-1",
                         "--final-score", critic.finalScore.rawValue]
        if let delay = critic.fixtureDelayMs { arguments += ["--fixture-delay-ms", "\(delay)"] }
        return arguments
    }

    /// The replicas reach the stack as this process does, but work in the scratch schema.
    func replicaEnvironment(schema: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["CDRA_KAFKA_BROKERS"] = options.kafkaBrokers
        environment["CDRA_DATABASE_URL"] = options.databaseURL()
        environment["CDRA_DATABASE_SCHEMA"] = schema
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment["CDRA_LOG_LEVEL"] = environment["CDRA_BENCH_LOG_LEVEL"] ?? "info"
        return environment
    }

    /// A `prm` or `scalar` run needs a trained checkpoint: the newest one of the configured schema
    /// is checked to load and copied into the scratch schema, where the replicas find it.
    private func copyCheckpointIfNeeded(from source: Database, into scratch: Database) async throws {
        let kind = critic.backend
        guard kind == .prm || kind == .scalar else { return }
        let sourceSchema = options.databaseSchema
        let newest: CheckpointRecord?
        do {
            let filter = CriticBackendFactory(kind: kind).checkpointFilter
            newest = try await source.withConnection {
                try CheckpointRepository($0).latest(modelKind: "prm", configContains: filter, newest: true)
            }
        } catch let error as StoreError where error.sqlState == "42P01" {
            newest = nil   // a schema no service has migrated holds no checkpoints
        }
        guard let record = newest else {
            throw BenchFailure("""
                the \(kind.rawValue) backend needs a trained PRM checkpoint, and schema '\(sourceSchema)' has none: \
                train one with `critic train` first, or measure the service on its own with --backend fixture
                """)
        }
        do {
            _ = try CriticBackendFactory(kind: kind).loader?(record)
        } catch {
            throw BenchFailure("the newest prm checkpoint, \(record.checkpointID), does not load: \(error)")
        }
        try await scratch.withConnection { try CheckpointRepository($0).save(record) }
    }

    /// For the trained backends, the requests the model is for: the test split's references, mixed
    /// and garbled chains of up to 100 annotated queries (the order shuffled with a fixed seed).
    /// Other backends, or a database without annotations, get synthetic requests.
    private func corpusRequests(from source: Database) async throws -> [CritiqueRequested] {
        guard critic.backend == .prm || critic.backend == .scalar else { return [] }
        let items = (try? await CriticData.annotatedQueries(source, split: "test", limit: 100)) ?? []
        var rng = SeededGenerator(seed: 7)
        let requests = PRMCorpus(pack: try KnowledgePack.builtin()).examples(items).map(\.request).shuffled(using: &rng)
        FileHandle.standardError.write(Data("bench: \(requests.isEmpty ? "synthetic requests (no annotated test queries)" : "\(requests.count) test-split requests from \(items.count) annotated queries")\n".utf8))
        return requests
    }

    private func dropSchema(_ database: Database, _ schema: String) async {
        _ = try? await database.withConnection {
            try $0.execute("DROP SCHEMA IF EXISTS \(PostgresConnection.quoteIdentifier(schema)) CASCADE")
        }
    }

    // MARK: - Report

    private func report(_ phases: [CriticBenchPhase.Result]) throws {
        guard let one = phases.first(where: { $0.replicas == 1 }), let two = phases.first(where: { $0.replicas == 2 }) else { return }
        func row(_ label: String, _ a: String, _ b: String) -> String {
            label.padding(toLength: 22, withPad: " ", startingAt: 0) + a.leftPadded(to: 12) + b.leftPadded(to: 12)
        }
        print("critic bench: backend \(critic.backend.rawValue), \(requests) requests per run, \(inFlight) in flight, "
              + "\(partitions) partitions, micro-batch ≤ \(critic.maxBatch) / \(critic.maxWaitMs) ms, \(critic.threads) thread(s) per replica")
        let passedThrough = options.kafkaPassThroughProperties.reduce(into: [String: String]()) {
            $0[$1.key] = Redaction.isSecretName($1.key) ? Redaction.marker : $1.value
        }
        if !passedThrough.isEmpty {
            print("librdkafka properties passed through: " + passedThrough.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        print(row("", "1 replica", "2 replicas"))
        print(row("critiques/s", String(format: "%.0f", one.critiquesPerSecond), String(format: "%.0f", two.critiquesPerSecond)))
        print(row("round trip p50 (ms)", String(format: "%.1f", one.p50Milliseconds), String(format: "%.1f", two.p50Milliseconds)))
        print(row("round trip p99 (ms)", String(format: "%.1f", one.p99Milliseconds), String(format: "%.1f", two.p99Milliseconds)))
        print(row("mean micro-batch", String(format: "%.1f", one.meanBatch), String(format: "%.1f", two.meanBatch)))
        print(row("replies ok/failed", "\(one.statuses["ok", default: 0])/\(one.statuses["failed", default: 0])",
                  "\(two.statuses["ok", default: 0])/\(two.statuses["failed", default: 0])"))
        let result = CriticBenchResult(
            backend: critic.backend.rawValue, requests: requests, inFlight: inFlight, partitions: partitions,
            maxBatch: critic.maxBatch, maxWaitMs: critic.maxWaitMs, threadsPerReplica: critic.threads,
            fixtureDelayMs: critic.fixtureDelayMs,
            critiquesPerSecond1: one.critiquesPerSecond, critiquesPerSecond2: two.critiquesPerSecond,
            p50Milliseconds: two.p50Milliseconds, p99Milliseconds: two.p99Milliseconds,
            p50Milliseconds1: one.p50Milliseconds, p99Milliseconds1: one.p99Milliseconds,
            p50Milliseconds2: two.p50Milliseconds, p99Milliseconds2: two.p99Milliseconds,
            meanBatch1: one.meanBatch, meanBatch2: two.meanBatch, statuses1: one.statuses, statuses2: two.statuses,
            kafkaProperties: passedThrough)
        try result.write(to: out)
        print("wrote \(out)")
    }
}

/// What `critic bench` writes to `bench-results/critic.json`. `p50_ms` and `p99_ms` are those of the
/// two-replica run; `_1` / `_2` name the replica count.
struct CriticBenchResult: Codable {
    var backend: String
    var requests: Int
    var inFlight: Int
    var partitions: Int
    var maxBatch: Int
    var maxWaitMs: Int
    var threadsPerReplica: Int
    var fixtureDelayMs: Int?
    var critiquesPerSecond1: Double
    var critiquesPerSecond2: Double
    var p50Milliseconds: Double
    var p99Milliseconds: Double
    var p50Milliseconds1: Double
    var p99Milliseconds1: Double
    var p50Milliseconds2: Double
    var p99Milliseconds2: Double
    var meanBatch1: Double
    var meanBatch2: Double
    var statuses1: [String: Int]
    var statuses2: [String: Int]
    /// The `CDRA_KAFKA_PROP_*` properties the run used (secrets redacted), e.g. `fetch.wait.max.ms`.
    var kafkaProperties: [String: String]

    enum CodingKeys: String, CodingKey {
        case backend, requests, partitions
        case inFlight = "in_flight", maxBatch = "max_batch", maxWaitMs = "max_wait_ms"
        case threadsPerReplica = "threads_per_replica", fixtureDelayMs = "fixture_delay_ms"
        case critiquesPerSecond1 = "critiques_per_s_1", critiquesPerSecond2 = "critiques_per_s_2"
        case p50Milliseconds = "p50_ms", p99Milliseconds = "p99_ms"
        case p50Milliseconds1 = "p50_ms_1", p99Milliseconds1 = "p99_ms_1"
        case p50Milliseconds2 = "p50_ms_2", p99Milliseconds2 = "p99_ms_2"
        case meanBatch1 = "mean_batch_1", meanBatch2 = "mean_batch_2"
        case statuses1 = "statuses_1", statuses2 = "statuses_2", kafkaProperties = "kafka_properties"
    }

    func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}

/// Why a benchmark run could not measure: printed as `Error: ...`, exit status 1.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
