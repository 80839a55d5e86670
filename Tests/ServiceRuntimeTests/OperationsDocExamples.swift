import ArgumentParser
import Bus
import Events
import Metrics
import ServiceLifecycle
import ServiceRuntime
import Store

// The Swift examples of Docs/operations.md, compiled with the tests. `OperationsDocTests` checks
// that every ```swift block of that page appears here word for word, so the page cannot show code
// that does not build. The command has no @main here (a test target has no entry point); the page
// shows it with one.

// MARK: - Writing a service

struct QueryCounterCommand: AsyncParsableCommand {
    @OptionGroup var options: ServiceOptions

    @Option(help: "Consumer group shared by the replicas.")
    var group = "query-counter"

    @Option(help: "Name of this replica. Default: replica-<pid>")
    var replicaID: String?

    @Option(help: "Topic to consume. Env CDRA_TOPIC_QUERIES.")
    var queriesTopic: String?

    func run() async throws {
        let topic = options.topic(.queries, flag: queriesTopic)
        try await runService("query-counter", options: options, replicaID: replicaID,
                             topics: [topic]) { context in
            let counter = QueryCounter(database: context.database)
            return [context.consumer(of: QuerySubmitted.self, topic: topic, group: group) { batch in
                try await counter.handle(batch)
            }]
        }
    }
}

/// The handler: business logic only, testable with the in-memory bus.
struct QueryCounter: Sendable {
    let database: Database

    /// Idempotent by event id: a redelivered batch claims nothing and writes nothing twice.
    func handle(_ batch: [DecodedEvent<QuerySubmitted>]) async throws {
        let references = batch.map {
            EventReference(eventID: $0.envelope.eventID, topic: $0.message.topic,
                           partition: $0.message.partition, offset: $0.message.offset)
        }
        let fresh = try await database.transaction { connection in
            try ProcessedEventLedger(connection).claim(references, consumer: "query-counter")
        }
        Counter(label: "cdra_queries_counted_total").increment(by: fresh.count)
    }
}

// MARK: - Metrics

func recordExampleMetrics(topic: String, partition: Int32) {
    let stored = Counter(label: "cdra_events_stored_total", dimensions: [("topic", topic)])
    let commit = Timer(label: "cdra_store_commit_seconds")
    let lag = Gauge(label: "cdra_consumer_lag", dimensions: [("partition", "\(partition)")])
    stored.increment()
    commit.recordMilliseconds(3)
    lag.record(0)
}

// MARK: - Shutdown

struct QueryConsumer: Service {
    let processor: EventProcessor<QuerySubmitted>
    let bus: KafkaBus

    func run() async throws {
        // Graceful shutdown cancels the processor's run: it finishes the batch in hand, commits
        // (database first, then the offsets) and returns; nothing is cut off halfway.
        try await cancelWhenGracefulShutdown {
            try await processor.run()
        }
        _ = await bus.flush(timeout: .seconds(10))   // deliver what was produced, then return
    }
}
