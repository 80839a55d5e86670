import Events
import Foundation

/// Stores `query_submitted` events as profiles and queries, idempotently by event id.
public struct QueryRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// In one transaction (or the caller's, if one is open): records the events in
    /// `processed_events` for `consumer`, skipping those this consumer already processed, then
    /// upserts the profiles and queries of the new events only. Returns how many events were new.
    ///
    /// Within a batch, a later event for the same query or profile wins. A new event for an
    /// existing `query_id` (a resubmission) updates the row when its content differs.
    /// Cost: one COPY into a session temporary table plus one statement, per batch.
    @discardableResult
    public func storeSubmittedQueries(
        _ events: [(eventID: UUID, topic: String, partition: Int32, offset: Int64, payload: QuerySubmitted)],
        consumer: String
    ) throws -> Int {
        guard !events.isEmpty else { return 0 }
        let callerTransaction = connection.isInTransaction
        if !callerTransaction, !connection.sessionObjects.contains(Self.incomingTable) {
            // Created outside any transaction, so a rollback cannot remove it behind our back;
            // it lives as long as the session and empties itself at every commit.
            try connection.execute(Self.createIncomingTable)
            connection.sessionObjects.insert(Self.incomingTable)
        }
        return try connection.transaction { connection in
            if callerTransaction {
                // The caller's transaction may have created it (or not yet), and may still hold
                // rows from an earlier call: ON COMMIT DELETE ROWS empties it only at commit.
                try connection.execute(Self.createIncomingTable)
                try connection.execute("DELETE FROM pg_temp.cdra_incoming_queries")
            }
            let rows: [[PostgresValue?]] = events.enumerated().map { index, event in
                let p = event.payload
                return [.int(index), .uuid(event.eventID), .text(event.topic), .int(event.partition), .int(event.offset),
                        .text(p.queryID), .text(p.profile.profileID), .text(p.profile.statedPreference),
                        p.profile.riskTolerance.map { .text($0) }, .text(p.question), p.topic.map { .text($0) },
                        .textArray(p.hiddenPreferences), p.split.map { .text($0) }]
            }
            try connection.copyRows(into: Self.incomingTable, columns: Self.incomingColumns, rows: rows)
            let result = try connection.execute(Self.storeStatement, [.text(consumer)])
            return try result[0].int(0) ?? 0
        }
    }

    static let incomingTable = "pg_temp.cdra_incoming_queries"
    static let createIncomingTable = """
        CREATE TEMPORARY TABLE IF NOT EXISTS cdra_incoming_queries (
            ordinal integer, event_id uuid, topic text, kafka_partition integer, kafka_offset bigint,
            query_id text, profile_id text, stated_preference text, risk_tolerance text,
            question text, query_topic text, hidden_preferences text[], split text
        ) ON COMMIT DELETE ROWS
        """

    static let incomingColumns = [
        "ordinal", "event_id", "topic", "kafka_partition", "kafka_offset", "query_id", "profile_id",
        "stated_preference", "risk_tolerance", "question", "query_topic", "hidden_preferences", "split",
    ]

    // Claim, then upsert profiles and queries of the claimed events, in one statement. DISTINCT ON
    // keeps the last event per key (ON CONFLICT DO UPDATE cannot touch a row twice), and sorts
    // the keys, so concurrent batches lock rows in the same order. Claims go in event-id order
    // for the same reason.
    static let storeStatement = """
        WITH claimed AS (
            INSERT INTO processed_events (consumer, event_id, topic, kafka_partition, kafka_offset)
            SELECT $1, event_id, topic, kafka_partition, kafka_offset
            FROM pg_temp.cdra_incoming_queries
            ORDER BY event_id
            ON CONFLICT (consumer, event_id) DO NOTHING
            RETURNING event_id
        ), fresh AS (
            SELECT i.* FROM pg_temp.cdra_incoming_queries i
            WHERE i.event_id IN (SELECT event_id FROM claimed)
        ), stored_profiles AS (
            INSERT INTO profiles AS p (profile_id, stated_preference, risk_tolerance)
            SELECT DISTINCT ON (profile_id) profile_id, stated_preference, risk_tolerance
            FROM fresh ORDER BY profile_id, ordinal DESC
            ON CONFLICT (profile_id) DO UPDATE
                SET stated_preference = EXCLUDED.stated_preference,
                    risk_tolerance = EXCLUDED.risk_tolerance, updated_at = now()
                WHERE (p.stated_preference, p.risk_tolerance)
                      IS DISTINCT FROM (EXCLUDED.stated_preference, EXCLUDED.risk_tolerance)
        ), stored_queries AS (
            INSERT INTO queries AS q (query_id, profile_id, question, topic, hidden_preferences, split, source_event_id)
            SELECT DISTINCT ON (query_id) query_id, profile_id, question, query_topic, hidden_preferences, split, event_id
            FROM fresh ORDER BY query_id, ordinal DESC
            ON CONFLICT (query_id) DO UPDATE
                SET profile_id = EXCLUDED.profile_id, question = EXCLUDED.question, topic = EXCLUDED.topic,
                    hidden_preferences = EXCLUDED.hidden_preferences, split = EXCLUDED.split,
                    source_event_id = EXCLUDED.source_event_id, updated_at = now()
                WHERE (q.profile_id, q.question, q.topic, q.hidden_preferences, q.split)
                      IS DISTINCT FROM (EXCLUDED.profile_id, EXCLUDED.question, EXCLUDED.topic,
                                        EXCLUDED.hidden_preferences, EXCLUDED.split)
        )
        SELECT count(*) FROM claimed
        """
}
