import Foundation

/// One evaluation run as stored: a checkpoint on a split under one evaluator configuration.
public struct EvaluationRunRecord: Sendable, Equatable {
    public var evaluationID: String
    public var checkpointID: String
    public var split: String
    /// Hash of the evaluator configuration; (checkpoint, split, this) is unique.
    public var evaluatorConfig: String
    public var configJSON: String
    public var examples: Int
    public var baselineCheckpointID: String?
    public var sourceEventID: UUID?

    public init(evaluationID: String, checkpointID: String, split: String, evaluatorConfig: String, configJSON: String,
                examples: Int, baselineCheckpointID: String? = nil, sourceEventID: UUID? = nil) {
        self.evaluationID = evaluationID
        self.checkpointID = checkpointID
        self.split = split
        self.evaluatorConfig = evaluatorConfig
        self.configJSON = configJSON
        self.examples = examples
        self.baselineCheckpointID = baselineCheckpointID
        self.sourceEventID = sourceEventID
    }
}

/// One evaluated query of a run (`evaluation_examples`); its response is in `responses`.
public struct EvaluationExampleRecord: Sendable, Equatable {
    public var queryID: String
    public var responseID: String
    public var topic: String
    public var formatValid: Bool
    /// The oracle judge's verdict as a JSON object.
    public var verdictJSON: String
    public var oracleScore: Double
    public var hiddenRecall: Double?
    public var prmScore: Double?
    public var critiqueRequestID: String?
    public var win: Double?

    public init(queryID: String, responseID: String, topic: String, formatValid: Bool, verdictJSON: String,
                oracleScore: Double, hiddenRecall: Double?, prmScore: Double?, critiqueRequestID: String?, win: Double?) {
        self.queryID = queryID
        self.responseID = responseID
        self.topic = topic
        self.formatValid = formatValid
        self.verdictJSON = verdictJSON
        self.oracleScore = oracleScore
        self.hiddenRecall = hiddenRecall
        self.prmScore = prmScore
        self.critiqueRequestID = critiqueRequestID
        self.win = win
    }
}

/// The evaluator's tables (`evaluation_runs`, `evaluations`, `evaluation_examples`). A run is
/// written whole in one call, inside the caller's transaction, or not at all.
public struct EvaluationRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// The stored run of (checkpoint, split, configuration) with its whole-split measures, or nil.
    public func run(checkpointID: String, split: String, evaluatorConfig: String) throws
        -> (record: EvaluationRunRecord, metrics: [String: Double])? {
        let rows = try connection.execute(
            """
            SELECT evaluation_id, config, examples, baseline_checkpoint_id, source_event_id
            FROM evaluation_runs WHERE checkpoint_id = $1 AND split = $2 AND evaluator_config = $3
            """, [.text(checkpointID), .text(split), .text(evaluatorConfig)])
        guard let row = rows.first, let id = try row.string("evaluation_id") else { return nil }
        let record = EvaluationRunRecord(
            evaluationID: id, checkpointID: checkpointID, split: split, evaluatorConfig: evaluatorConfig,
            configJSON: try row.json("config") ?? "{}", examples: try row.int("examples") ?? 0,
            baselineCheckpointID: try row.string("baseline_checkpoint_id"),
            sourceEventID: try row.uuid("source_event_id"))
        var metrics: [String: Double] = [:]
        for m in try connection.execute(
            "SELECT metric, value FROM evaluations WHERE evaluation_run = $1 AND topic IS NULL", [.text(id)]) {
            if let name = try m.string("metric"), let value = try m.double("value") { metrics[name] = value }
        }
        return (record, metrics)
    }

    /// The oracle score of each query a run evaluated, by query id (a baseline's side of a win rate).
    public func oracleScores(evaluationID: String) throws -> [String: Double] {
        var scores: [String: Double] = [:]
        for row in try connection.execute(
            "SELECT query_id, oracle_score FROM evaluation_examples WHERE evaluation_id = $1", [.text(evaluationID)]) {
            if let q = try row.string("query_id"), let s = try row.double("oracle_score") { scores[q] = s }
        }
        return scores
    }

    /// Writes a run: its row, its measures (whole split and per topic) and its examples. False when
    /// the run was already stored (by another replica, or before a crash), in which case nothing
    /// is written. Call it inside a transaction with the responses the examples name.
    @discardableResult
    public func store(_ run: EvaluationRunRecord, metrics: [String: Double], topicMetrics: [String: [String: Double]],
                      examples: [EvaluationExampleRecord]) throws -> Bool {
        let inserted = try connection.execute(
            """
            INSERT INTO evaluation_runs (evaluation_id, checkpoint_id, split, evaluator_config, config, examples,
                                         baseline_checkpoint_id, source_event_id)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::uuid)
            ON CONFLICT DO NOTHING
            RETURNING 1
            """, [.text(run.evaluationID), .text(run.checkpointID), .text(run.split), .text(run.evaluatorConfig),
                  .jsonb(run.configJSON), .int(run.examples), run.baselineCheckpointID.map { .text($0) },
                  run.sourceEventID.map { .uuid($0) }])
        guard !inserted.isEmpty else { return false }

        struct Measure: Encodable { var metric: String, value: Double, topic: String?, details: [String: Int] }
        var measures = metrics.sorted { $0.key < $1.key }.map {
            Measure(metric: $0.key, value: $0.value, topic: nil, details: ["examples": run.examples])
        }
        let topicCounts = Dictionary(grouping: examples, by: \.topic).mapValues(\.count)
        for (topic, values) in topicMetrics.sorted(by: { $0.key < $1.key }) {
            measures += values.sorted { $0.key < $1.key }.map {
                Measure(metric: $0.key, value: $0.value, topic: topic, details: ["examples": topicCounts[topic] ?? 0])
            }
        }
        let baseline = run.baselineCheckpointID.map { ", \"baseline_checkpoint_id\": \(Self.quoted($0))" } ?? ""
        try connection.execute(
            """
            INSERT INTO evaluations (checkpoint_id, split, metric, value, details, source_event_id, evaluation_run, topic)
            SELECT $1, $2, m->>'metric', (m->>'value')::double precision,
                   (m->'details') || jsonb_build_object('evaluation_id', $4::text) || $5::jsonb, $3::uuid, $4, m->>'topic'
            FROM jsonb_array_elements($6::jsonb) AS m
            """, [.text(run.checkpointID), .text(run.split), run.sourceEventID.map { .uuid($0) },
                  .text(run.evaluationID), .jsonb("{\"evaluator_config\": \(Self.quoted(run.evaluatorConfig))\(baseline)}"),
                  .jsonb(String(decoding: try JSONEncoder().encode(measures), as: UTF8.self))])

        struct Example: Encodable {
            var query_id: String, response_id: String, topic: String, format_valid: Bool, verdict: String
            var oracle_score: Double, hidden_recall: Double?, prm_score: Double?, critique_request_id: String?, win: Double?
        }
        let rows = examples.map {
            Example(query_id: $0.queryID, response_id: $0.responseID, topic: $0.topic, format_valid: $0.formatValid,
                    verdict: $0.verdictJSON, oracle_score: $0.oracleScore, hidden_recall: $0.hiddenRecall,
                    prm_score: $0.prmScore, critique_request_id: $0.critiqueRequestID, win: $0.win)
        }
        try connection.execute(
            """
            INSERT INTO evaluation_examples (evaluation_id, query_id, response_id, topic, format_valid, verdict, oracle_score,
                                             hidden_recall, prm_score, critique_request_id, win)
            SELECT $1, e->>'query_id', e->>'response_id', e->>'topic', (e->>'format_valid')::boolean, (e->>'verdict')::jsonb,
                   (e->>'oracle_score')::real, (e->>'hidden_recall')::real, (e->>'prm_score')::real,
                   e->>'critique_request_id', (e->>'win')::real
            FROM jsonb_array_elements($2::jsonb) AS e
            """, [.text(run.evaluationID), .jsonb(String(decoding: try JSONEncoder().encode(rows), as: UTF8.self))])
        return true
    }

    static func quoted(_ s: String) -> String {
        String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
    }
}
