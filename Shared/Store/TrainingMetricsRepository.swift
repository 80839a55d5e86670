/// Per-step training metrics (`training_metrics`, long form: one row per run, step and name).
/// Writing a metric again for the same run, step and name replaces its value, so a resumed run
/// that repeats a step leaves one row.
public struct TrainingMetricsRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Records `metrics` of one step of `runID` in one statement.
    public func record(runID: String, step: Int, metrics: [String: Double]) throws {
        let finite = metrics.filter { $0.value.isFinite }.sorted { $0.key < $1.key }
        guard !finite.isEmpty else { return }
        try connection.execute(
            """
            INSERT INTO training_metrics (run_id, step, name, value)
            SELECT $1, $2, name, value FROM unnest($3::text[], $4::float8[]) AS m(name, value)
            ON CONFLICT (run_id, name, step) DO UPDATE SET value = EXCLUDED.value, recorded_at = now()
            """,
            [.text(runID), .int(step), .textArray(finite.map(\.key)), .doubleArray(finite.map(\.value))])
    }

    /// Every metric of a run, by name, in step order.
    public func load(runID: String) throws -> [String: [(step: Int, value: Double)]] {
        let result = try connection.execute(
            "SELECT name, step, value FROM training_metrics WHERE run_id = $1 ORDER BY name, step", [.text(runID)])
        var out: [String: [(step: Int, value: Double)]] = [:]
        for row in result {
            guard let name = try row.string("name"), let step = try row.int("step"), let value = try row.double("value") else { continue }
            out[name, default: []].append((step, value))
        }
        return out
    }
}
