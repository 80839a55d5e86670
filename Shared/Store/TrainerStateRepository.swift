import Foundation

/// A policy run's resumable state (`trainer_states`): the optimizer bytes and the trainer's state
/// JSON, keyed by the checkpoint that holds the weights.
public struct TrainerStateRecord: Sendable, Equatable {
    public var checkpointID: String
    public var runID: String
    public var step: Int
    public var stateJSON: String
    public var optimizer: [UInt8]

    public init(checkpointID: String, runID: String, step: Int, stateJSON: String, optimizer: [UInt8]) {
        self.checkpointID = checkpointID
        self.runID = runID
        self.step = step
        self.stateJSON = stateJSON
        self.optimizer = optimizer
    }
}

public struct TrainerStateRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Stores the checkpoint and its trainer state in one transaction (both or neither). Saving
    /// the same pair again is a no-op.
    public func save(checkpoint: CheckpointRecord, state: TrainerStateRecord) throws {
        try connection.transaction { connection in
            try CheckpointRepository(connection).save(checkpoint)
            try connection.execute(
                """
                INSERT INTO trainer_states (checkpoint_id, run_id, step, state, optimizer, optimizer_sha256)
                VALUES ($1, $2, $3, $4, $5, encode(sha256($5), 'hex'))
                ON CONFLICT (checkpoint_id) DO UPDATE SET state = EXCLUDED.state, optimizer = EXCLUDED.optimizer,
                    optimizer_sha256 = EXCLUDED.optimizer_sha256
                """,
                [.text(state.checkpointID), .text(state.runID), .int(state.step), .jsonb(state.stateJSON), .bytea(state.optimizer)])
        }
    }

    /// The highest-step state of a run, or nil when it has none.
    public func latest(runID: String) throws -> TrainerStateRecord? {
        let result = try connection.execute(
            """
            SELECT checkpoint_id, run_id, step, state, optimizer FROM trainer_states
            WHERE run_id = $1 ORDER BY step DESC LIMIT 1
            """, [.text(runID)])
        return try result.first.map { row in
            TrainerStateRecord(checkpointID: try row.string("checkpoint_id") ?? "", runID: try row.string("run_id") ?? "",
                               step: try row.int("step") ?? 0, stateJSON: try row.json("state") ?? "{}",
                               optimizer: try row.bytes("optimizer") ?? [])
        }
    }

    /// Deletes a run's states, checkpoints, metrics and samples (response ids `<run>/...`), for a run started over.
    public func deleteRun(_ runID: String) throws {
        try connection.transaction { connection in
            try connection.execute("DELETE FROM trainer_states WHERE run_id = $1", [.text(runID)])
            try connection.execute("DELETE FROM training_metrics WHERE run_id = $1", [.text(runID)])
            try connection.execute(
                "DELETE FROM responses WHERE left(response_id, length($1) + 1) = $1 || '/' AND origin IN ('policy', 'revision')",
                [.text(runID)])
            try connection.execute("DELETE FROM checkpoints WHERE run_id = $1 AND model_kind = 'policy'", [.text(runID)])
        }
    }
}
