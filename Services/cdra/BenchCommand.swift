import ArgumentParser
import Bus
import Events
import Foundation
import Logging
import ServiceRuntime
import Store
import Resilience

/// Benchmarks that print numbers (never timed tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Run a benchmark and print its figures.",
        subcommands: [BusBench.self, StoreBench.self, EncoderBench.self])
}

/// produce → consume → store through the broker into PostgreSQL with idempotent writes.
struct BusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus",
        abstract: "Events/s and produce-to-stored latency through Kafka into PostgreSQL.")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Events to send.")
    var events = 50_000

    @Option(help: "Partitions of the benchmark topic.")
    var partitions = 4

    @Option(help: "Largest batch a consumer handles (one transaction each).")
    var maxBatch = 1000

    @Option(help: "Consumers in the group (each with its own database connection).")
    var consumers = 2

    @Option(help: "Where to write the JSON results.")
    var out = "bench-results/bus.json"

    func validate() throws {
        guard events > 0, partitions > 0, consumers > 0, maxBatch > 0 else {
            throw ValidationError("--events, --partitions, --consumers and --max-batch must be positive")
        }
    }

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra-bench", level: .warning, format: options.logFormat)
        let logger = Logger(label: "bench")
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let topic = "bench.queries.\(suffix)"
        let schema = "bench_\(suffix)"

        var dbConfig = options.databaseConfiguration(applicationName: "cdra-bench")
        dbConfig.schema = schema
        dbConfig.poolSize = max(2, consumers)
        let database = Database(configuration: dbConfig)
        try await Migrator.migrate(database)
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: logger)
        try await bus.createTopic(topic, partitions: partitions)

        let codec = EventCodec()
        let latencies = Locked([Double]())  // seconds from produced_at to stored
        let stored = Locked(0)
        let handler: @Sendable ([DecodedEvent<QuerySubmitted>]) async throws -> Void = { batch in
            let rows = batch.map { ($0.envelope.eventID, $0.message.topic, $0.message.partition, $0.message.offset, $0.envelope.payload) }
            let fresh = try await database.transaction { connection in
                try QueryRepository(connection).storeSubmittedQueries(
                    rows.map { (eventID: $0.0, topic: $0.1, partition: $0.2, offset: $0.3, payload: $0.4) },
                    consumer: "bench")
            }
            let now = Date()
            let batchLatencies = batch.map { now.timeIntervalSince($0.envelope.producedAt) }
            latencies.withLock { $0.append(contentsOf: batchLatencies) }
            stored.withLock { $0 += fresh }
        }
        let group = "bench-\(suffix)"
        let consumerTasks = (0..<consumers).map { _ in
            Task {
                try await EventProcessor<QuerySubmitted>(
                    bus: bus, topic: topic, group: group,
                    configuration: EventProcessorConfiguration(maxBatch: maxBatch), logger: logger,
                    handler: handler
                ).run()
            }
        }

        // Let the consumers join their group before the clock starts.
        try await Task.sleep(for: .seconds(4))
        FileHandle.standardError.write(Data("bench: producing \(events) events to \(topic)\n".utf8))
        let start = Date()
        var sent = 0
        while sent < events {
            let n = min(5_000, events - sent)
            let messages = try (0..<n).map { i -> OutgoingMessage in
                let id = "bench-\(sent + i)"
                let payload = QuerySubmitted(
                    queryID: id, profile: UserProfile(profileID: "p-\((sent + i) % 997)", statedPreference: "I prefer short answers."),
                    question: "How should I plan question \(sent + i)?", topic: "Time Management")
                return OutgoingMessage(topic: topic, key: Array(id.utf8),
                                       value: try codec.encode(EventEnvelope(payload: payload, producer: "cdra-bench")))
            }
            try await bus.send(messages)
            sent += n
        }
        let produced = Date().timeIntervalSince(start)
        while stored.current < events {
            try await Task.sleep(for: .milliseconds(20))
            if Date().timeIntervalSince(start) > 600 { throw ValidationError("timed out: stored \(stored.current) of \(events)") }
        }
        let elapsed = Date().timeIntervalSince(start)
        for task in consumerTasks { task.cancel() }
        for task in consumerTasks { _ = try? await task.value }
        _ = try? await database.withConnection { try $0.execute("DROP SCHEMA \(PostgresConnection.quoteIdentifier(schema)) CASCADE") }
        database.shutdown()

        let sorted = latencies.current.sorted()
        let result = BusBenchResult(
            events: events, partitions: partitions, consumers: consumers, maxBatch: maxBatch,
            eventsPerSecond: Double(events) / elapsed, produceEventsPerSecond: Double(events) / produced,
            p50Milliseconds: percentile(sorted, 0.50) * 1000, p99Milliseconds: percentile(sorted, 0.99) * 1000,
            elapsedSeconds: elapsed)
        print(String(format: "events            %d (partitions %d, %d consumers, batch ≤ %d)", events, partitions, consumers, maxBatch))
        print(String(format: "produced          %.0f events/s", result.produceEventsPerSecond))
        print(String(format: "stored end to end %.0f events/s", result.eventsPerSecond))
        print(String(format: "latency p50       %.1f ms", result.p50Milliseconds))
        print(String(format: "latency p99       %.1f ms", result.p99Milliseconds))
        try result.write(to: out)
        print("wrote \(out)")
    }

    private func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}

/// Idempotent query storage through `QueryRepository`, and statement pipelining, on one
/// PostgreSQL connection in a scratch schema.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Events/s stored (and replayed) through QueryRepository, and single-row INSERTs/s one by one and pipelined.")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Synthetic query_submitted events to store.")
    var events = 50_000

    @Option(help: "Events per batch (one transaction each).")
    var batchSize = 500

    @Option(help: "Single-row INSERTs for the pipelining comparison.")
    var statements = 5_000

    func validate() throws {
        guard events > 0, batchSize > 0, statements > 0 else {
            throw ValidationError("--events, --batch-size and --statements must be positive")
        }
    }

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra-bench", level: .warning, format: options.logFormat)
        let schema = "bench_store_\(UUID().uuidString.prefix(8).lowercased())"
        var dbConfig = options.databaseConfiguration(applicationName: "cdra-bench")
        dbConfig.schema = schema
        dbConfig.poolSize = 1
        let database = Database(configuration: dbConfig)
        defer { database.shutdown() }
        try await Migrator.migrate(database)
        FileHandle.standardError.write(Data("bench: storing \(events) events in batches of \(batchSize) in schema \(schema)\n".utf8))
        let (events, batchSize, statements) = (self.events, self.batchSize, self.statements)
        func dropSchema() async {
            _ = try? await database.withConnection { try $0.execute("DROP SCHEMA \(PostgresConnection.quoteIdentifier(schema)) CASCADE") }
        }
        let measured: (report: StoreBenchmark.Report, rows: Int, pipeline: (sequential: Double, pipelined: Double))
        do {
            measured = try await database.withConnection { connection in
                let report = try StoreBenchmark.measureQueryStorage(on: connection, events: events, batchSize: batchSize)
                let rows = try connection.execute("SELECT count(*) FROM queries")[0].int(0) ?? 0
                let pipeline = try StoreBenchmark.measurePipelining(on: connection, statements: statements)
                return (report, rows, pipeline)
            }
        } catch {
            await dropSchema()
            throw error
        }
        await dropSchema()
        let (report, rows, pipeline) = measured
        print("StoreBenchmark: \(report)")
        print(String(format: "StoreBenchmark: single-row INSERTs one by one %.0f/s, pipelined %.0f/s",
                     pipeline.sequential, pipeline.pipelined))
        // A run that did not store every event exactly once measured something else.
        guard report.newEvents == events, report.replayNewEvents == 0, rows == events else {
            throw ValidationError("stored \(report.newEvents) new events (\(rows) rows) of \(events), replay stored \(report.replayNewEvents)")
        }
    }
}

struct BusBenchResult: Codable {
    var events: Int
    var partitions: Int
    var consumers: Int
    var maxBatch: Int
    var eventsPerSecond: Double
    var produceEventsPerSecond: Double
    var p50Milliseconds: Double
    var p99Milliseconds: Double
    var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case events, partitions, consumers, maxBatch = "max_batch", eventsPerSecond = "events_per_s"
        case produceEventsPerSecond = "produce_events_per_s", p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms", elapsedSeconds = "elapsed_s"
    }

    func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}
