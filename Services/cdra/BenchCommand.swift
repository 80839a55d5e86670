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
        subcommands: [BusBench.self])
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
        try? await database.withConnection { try $0.execute("DROP SCHEMA \(PostgresConnection.quoteIdentifier(schema)) CASCADE") }
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
