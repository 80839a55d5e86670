import Foundation

/// Makes a consumer's writes idempotent by event id. Inside the consumer's transaction, claim the
/// batch's events first, then write only for the ids the claim returns: an event already applied
/// by this consumer (a redelivery after a crash, a replay) is not claimed again, and because the
/// claim commits or rolls back with the writes, "recorded as processed" and "written" never
/// disagree.
///
/// ```swift
/// try await database.transaction { connection in
///     let fresh = try ProcessedEventLedger(connection).claim(references, consumer: "critic")
///     for event in batch where fresh.contains(event.eventID) { ... write ... }
/// }
/// ```
public struct ProcessedEventLedger {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Records the events for `consumer` and returns the ids that were not yet recorded.
    /// Must run inside a transaction (it throws otherwise), so a later failure un-claims them.
    public func claim(_ events: [EventReference], consumer: String) throws -> Set<UUID> {
        guard connection.isInTransaction else {
            throw StoreError(.queryFailed, "ProcessedEventLedger.claim must run inside a transaction")
        }
        guard !events.isEmpty else { return [] }
        // One statement for the whole batch: the columns travel as four arrays.
        let result = try connection.execute(
            """
            INSERT INTO processed_events (consumer, event_id, topic, kafka_partition, kafka_offset)
            SELECT $1, e.event_id, e.topic, e.kafka_partition, e.kafka_offset
            FROM unnest($2::uuid[], $3::text[], $4::int8[], $5::int8[])
                 AS e(event_id, topic, kafka_partition, kafka_offset)
            ORDER BY e.event_id   -- a fixed order keeps concurrent overlapping claims from deadlocking
            ON CONFLICT (consumer, event_id) DO NOTHING
            RETURNING event_id
            """,
            [.text(consumer), .uuidArray(events.map(\.eventID)), .textArray(events.map(\.topic)),
             .intArray(events.map { Int64($0.partition) }), .intArray(events.map(\.offset))])
        var fresh = Set<UUID>()
        fresh.reserveCapacity(result.count)
        for row in result { if let id = try row.uuid(0) { fresh.insert(id) } }
        return fresh
    }

    /// Which of these events `consumer` has already applied (a read; no claim). A consumer uses it
    /// to skip expensive work for redelivered events before its claiming transaction.
    public func processed(_ eventIDs: [UUID], consumer: String) throws -> Set<UUID> {
        guard !eventIDs.isEmpty else { return [] }
        let result = try connection.execute(
            "SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
            [.text(consumer), .uuidArray(eventIDs)])
        var done = Set<UUID>()
        for row in result { if let id = try row.uuid(0) { done.insert(id) } }
        return done
    }

    /// True when `consumer` has already applied the event.
    public func isProcessed(_ eventID: UUID, consumer: String) throws -> Bool {
        !(try connection.execute(
            "SELECT 1 FROM processed_events WHERE consumer = $1 AND event_id = $2",
            [.text(consumer), .uuid(eventID)])).isEmpty
    }
}
