import Events
import Foundation
import Store

/// Measures idempotent query storage (``QueryRepository/storeSubmittedQueries(_:consumer:)``)
/// against a real server: synthetic `query_submitted` events in batches, one transaction per
/// batch, as a consumer would write them. The work behind `cdra bench store`.
struct StoreBenchmark {
    /// What one run measured.
    struct Report: Sendable, CustomStringConvertible {
        var events: Int
        var batchSize: Int
        var newEvents: Int
        /// Events the replay stored (0 when storage is idempotent).
        var replayNewEvents: Int
        var seconds: Double
        var eventsPerSecond: Double
        var batchP50Milliseconds: Double
        var batchP99Milliseconds: Double
        /// The same events stored a second time (all duplicates: nothing written).
        var replayEventsPerSecond: Double

        var description: String {
            String(format: "stored %d events in batches of %d: %.0f events/s (%.3f s), batch p50 %.2f ms, p99 %.2f ms; "
                   + "replay of the same events: %.0f events/s, %d new",
                   events, batchSize, eventsPerSecond, seconds, batchP50Milliseconds, batchP99Milliseconds,
                   replayEventsPerSecond, replayNewEvents)
        }
    }

    static let riskLevels = ["low", "medium", "high"]
    static let splits = ["train", "validation", "test"]

    /// Stores `events` synthetic queries (one profile per 10 queries, 20 topics) in batches of
    /// `batchSize` on one connection, then stores them all again. Expects a migrated schema.
    static func measureQueryStorage(
        on connection: PostgresConnection, events: Int = 50_000, batchSize: Int = 500,
        consumer: String = "store-benchmark"
    ) throws -> Report {
        precondition(events > 0 && batchSize > 0, "events and batchSize must be positive")
        let runID = UUID().uuidString.prefix(8)
        var all: [(eventID: UUID, topic: String, partition: Int32, offset: Int64, payload: QuerySubmitted)] = []
        all.reserveCapacity(events)
        for i in 0..<events {
            let profile = UserProfile(profileID: "bench-\(runID)-p\(i / 10)",
                                      statedPreference: "I prefer short answers\twith\nsteps \\ \"quoted\"",
                                      riskTolerance: riskLevels[i % 3])
            let payload = QuerySubmitted(
                queryID: "bench-\(runID)-\(i)", profile: profile,
                question: "How do I keep my family informed without constantly calling? (#\(i))",
                topic: "Topic \(i % 20)", hiddenPreferences: ["autonomy", "low_friction"], split: splits[i % 3])
            all.append((eventID: UUID(), topic: QuerySubmitted.defaultTopic, partition: Int32(i % 4),
                        offset: Int64(i / 4), payload: payload))
        }
        let repository = QueryRepository(connection)
        var batchTimes: [Double] = []
        var stored = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var index = 0
        while index < all.count {
            let batch = Array(all[index..<min(index + batchSize, all.count)])
            let t0 = DispatchTime.now().uptimeNanoseconds
            stored += try repository.storeSubmittedQueries(batch, consumer: consumer)
            batchTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            index += batchSize
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let replayStart = DispatchTime.now().uptimeNanoseconds
        index = 0
        var replayed = 0
        while index < all.count {
            replayed += try repository.storeSubmittedQueries(Array(all[index..<min(index + batchSize, all.count)]),
                                                             consumer: consumer)
            index += batchSize
        }
        let replaySeconds = Double(DispatchTime.now().uptimeNanoseconds - replayStart) / 1e9

        batchTimes.sort()
        func percentile(_ p: Double) -> Double {
            batchTimes[min(batchTimes.count - 1, Int((p * Double(batchTimes.count)).rounded(.up)) - 1)]
        }
        return Report(events: events, batchSize: batchSize, newEvents: stored, replayNewEvents: replayed, seconds: seconds,
                      eventsPerSecond: Double(events) / seconds, batchP50Milliseconds: percentile(0.50),
                      batchP99Milliseconds: percentile(0.99), replayEventsPerSecond: Double(events) / replaySeconds)
    }

    /// Single-row INSERTs into a scratch temporary table, one transaction: one by one versus
    /// pipelined (``PostgresConnection/executePipelined(_:)``). Returns statements per second.
    static func measurePipelining(on connection: PostgresConnection, statements: Int = 5_000)
        throws -> (sequential: Double, pipelined: Double)
    {
        try connection.execute("CREATE TEMPORARY TABLE IF NOT EXISTS cdra_pipeline_bench (id bigint, label text)")
        let batch = (0..<statements).map {
            PostgresConnection.Statement("INSERT INTO pg_temp.cdra_pipeline_bench VALUES ($1, $2)", [.int($0), .text("row \($0)")])
        }
        func rate(_ body: (PostgresConnection) throws -> Void) throws -> Double {
            try connection.execute("TRUNCATE pg_temp.cdra_pipeline_bench")
            let t0 = DispatchTime.now().uptimeNanoseconds
            try connection.transaction(body)
            return Double(statements) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let sequential = try rate { c in for statement in batch { try c.execute(statement.sql, statement.parameters) } }
        let pipelined = try rate { c in _ = try c.executePipelined(batch) }
        try connection.execute("DROP TABLE pg_temp.cdra_pipeline_bench")
        return (sequential, pipelined)
    }
}
