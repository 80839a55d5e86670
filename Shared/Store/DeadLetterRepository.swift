import Foundation

/// Keeps a SQL-queryable copy of dead-lettered messages (`dead_letters`). Idempotent by
/// (consumer, topic, partition, offset): a redelivered poison message is recorded once.
public struct DeadLetterRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Records the messages and returns how many were new.
    @discardableResult
    public func record(_ letters: [DeadLetterRecord]) throws -> Int {
        guard !letters.isEmpty else { return 0 }
        let statements = letters.map { letter in
            PostgresConnection.Statement(
                """
                INSERT INTO dead_letters (consumer, source_topic, kafka_partition, kafka_offset, message_key, message,
                                          reason, error_code)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (consumer, source_topic, kafka_partition, kafka_offset) DO NOTHING
                """,
                [.text(letter.consumer), .text(letter.sourceTopic), letter.partition.map { .int($0) },
                 letter.offset.map { .int($0) }, letter.key.map { .bytea($0) }, .bytea(letter.message),
                 .text(letter.reason), letter.errorCode.map { .text($0) }])
        }
        // Dead letters are rare and each carries its own bytes: pipelined single-row inserts.
        let results = try connection.transaction { try $0.executePipelined(statements) }
        return results.reduce(0) { $0 + $1.affectedRows }
    }

    /// The most recent dead letters, newest first.
    public func recent(limit: Int = 100) throws -> [DeadLetterRecord] {
        try connection.execute(
            """
            SELECT consumer, source_topic, kafka_partition, kafka_offset, message_key, message, reason, error_code
            FROM dead_letters ORDER BY recorded_at DESC, dead_letter_id DESC LIMIT $1
            """, [.int(limit)]).map { row in
            DeadLetterRecord(
                consumer: try row.string(0) ?? "", sourceTopic: try row.string(1) ?? "",
                partition: try row.int(2).map { Int32($0) }, offset: try row.int(3).map { Int64($0) },
                key: try row.bytes(4), message: try row.bytes(5) ?? [], reason: try row.string(6) ?? "",
                errorCode: try row.string(7))
        }
    }
}
