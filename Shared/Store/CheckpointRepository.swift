import Foundation

/// Saves and loads model checkpoints (`checkpoints` table). Saving is idempotent: saving the same
/// checkpoint again is a no-op, while a different file under an existing id is refused.
public struct CheckpointRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Stores the checkpoint; the server computes and checks its SHA-256. Returns true when it
    /// was new, false when the identical checkpoint was already stored. Throws
    /// `.uniqueViolation` when the id exists with different weights.
    @discardableResult
    public func save(_ record: CheckpointRecord) throws -> Bool {
        // One statement, so the multi-megabyte blob crosses the wire once. The `existing`
        // subquery sees the table as it was before this statement's insert.
        let row = try connection.execute(
            """
            WITH inserted AS (
                INSERT INTO checkpoints (checkpoint_id, model_kind, run_id, step, parent_checkpoint_id, config,
                                         safetensors, sha256)
                VALUES ($1, $2, $3, $4, $5, $6, $7, encode(sha256($7), 'hex'))
                ON CONFLICT (checkpoint_id) DO NOTHING
                RETURNING sha256
            ), existing AS (
                SELECT sha256 FROM checkpoints WHERE checkpoint_id = $1
            )
            SELECT (SELECT sha256 FROM inserted) AS inserted, (SELECT sha256 FROM existing) AS existing,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM inserted) THEN encode(sha256($7), 'hex') END AS offered
            """,
            [.text(record.checkpointID), .text(record.modelKind), record.runID.map { .text($0) }, .int(record.step),
             record.parentCheckpointID.map { .text($0) }, .jsonb(record.configJSON), .bytea(record.safetensors)])[0]
        if try row.string("inserted") != nil { return true }
        let existing = try row.string("existing"), offered = try row.string("offered")
        guard let existing else {
            // Another transaction inserted the id after this statement's snapshot was taken (ON
            // CONFLICT saw it, the snapshot does not): a retry compares against it.
            throw StoreError(.serialization, "checkpoint \(record.checkpointID) was saved concurrently; retry", sqlState: "40001")
        }
        guard existing == offered else {
            throw StoreError(.uniqueViolation,
                             "checkpoint \(record.checkpointID) already exists with different weights "
                             + "(stored sha256 \(existing.prefix(12))…, offered \(offered?.prefix(12) ?? "?")…)",
                             sqlState: "23505")
        }
        return false
    }

    /// The checkpoint with its weights, or nil when there is none with that id.
    public func load(_ checkpointID: String) throws -> CheckpointRecord? {
        let result = try connection.execute("SELECT \(Self.columns) FROM checkpoints WHERE checkpoint_id = $1",
                                            [.text(checkpointID)])
        return try result.first.map(Self.record)
    }

    /// The highest-step checkpoint of a kind (and run, when given), with its weights. With
    /// `configContains` (a JSON object), only checkpoints whose config contains it (jsonb `@>`);
    /// with `newest`, the most recently written instead of the highest step.
    public func latest(modelKind: String, runID: String? = nil, configContains: String? = nil,
                       newest: Bool = false) throws -> CheckpointRecord? {
        let order = newest ? "created_at DESC, step DESC" : "step DESC, created_at DESC"
        let result = try connection.execute(
            """
            SELECT \(Self.columns) FROM checkpoints
            WHERE model_kind = $1 AND ($2::text IS NULL OR run_id = $2) AND ($3::jsonb IS NULL OR config @> $3::jsonb)
            ORDER BY \(order) LIMIT 1
            """, [.text(modelKind), runID.map { .text($0) }, configContains.map { .jsonb($0) }])
        return try result.first.map(Self.record)
    }

    /// The id of the highest-step checkpoint of a kind (and run, when given), without moving its
    /// weights: enough to tell whether a newer one is there.
    public func latestID(modelKind: String, runID: String? = nil, configContains: String? = nil,
                         newest: Bool = false) throws -> String? {
        let order = newest ? "created_at DESC, step DESC" : "step DESC, created_at DESC"
        return try connection.execute(
            """
            SELECT checkpoint_id FROM checkpoints
            WHERE model_kind = $1 AND ($2::text IS NULL OR run_id = $2) AND ($3::jsonb IS NULL OR config @> $3::jsonb)
            ORDER BY \(order) LIMIT 1
            """, [.text(modelKind), runID.map { .text($0) }, configContains.map { .jsonb($0) }]).first?.string(0)
    }

    /// The SHA-256 the server computed for a stored checkpoint, or nil when there is none with
    /// that id. Reads no weights.
    public func sha256(of checkpointID: String) throws -> String? {
        try connection.execute("SELECT sha256 FROM checkpoints WHERE checkpoint_id = $1",
                               [.text(checkpointID)]).first?.string(0)
    }

    /// The SHA-256 of a stored checkpoint's bytes as the server computes it now (not the stored
    /// column), or nil when there is none with that id. Moves no weights to the client.
    public func computedSHA256(of checkpointID: String) throws -> String? {
        try connection.execute("SELECT encode(sha256(safetensors), 'hex') FROM checkpoints WHERE checkpoint_id = $1",
                               [.text(checkpointID)]).first?.string(0)
    }

    /// The model kind of a stored checkpoint (`policy` or `prm`), or nil when there is none with
    /// that id. Reads no weights.
    public func modelKind(of checkpointID: String) throws -> String? {
        try connection.execute("SELECT model_kind FROM checkpoints WHERE checkpoint_id = $1",
                               [.text(checkpointID)]).first?.string(0)
    }

    static let columns = "checkpoint_id, model_kind, run_id, step, parent_checkpoint_id, config, safetensors, sha256, created_at"

    static func record(_ row: PostgresRow) throws -> CheckpointRecord {
        var record = CheckpointRecord(
            checkpointID: try row.string("checkpoint_id") ?? "", modelKind: try row.string("model_kind") ?? "",
            runID: try row.string("run_id"), step: try row.int("step") ?? 0,
            parentCheckpointID: try row.string("parent_checkpoint_id"), configJSON: try row.json("config") ?? "{}",
            safetensors: try row.bytes("safetensors") ?? [])
        record.sha256 = try row.string("sha256")
        record.createdAt = try row.date("created_at")
        return record
    }
}
