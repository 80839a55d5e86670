import Foundation

/// What `cdra report` reads about one study: its runs' final checkpoints, their newest evaluation
/// runs with the measures and example rows, and their training curves. Read only.
public struct ReportRepository {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    // MARK: - Rows

    /// A policy run's final (highest-step) checkpoint and what its `config` says about the run.
    public struct RunCheckpoint: Sendable, Equatable {
        public var runID: String
        public var checkpointID: String
        public var step: Int
        /// `config.warm_start`, else the parent checkpoint.
        public var warmStartID: String?
        public var estimator: String?
        public var reward: String?
        /// `config.training.seed`.
        public var seed: Int?
    }

    /// One evaluation run (one checkpoint, split and evaluator configuration).
    public struct EvaluationRun: Sendable, Equatable {
        public var evaluationID: String
        public var checkpointID: String
        public var split: String
        public var examples: Int
        public var baselineCheckpointID: String?
        public var evaluatedAt: Date?
    }

    /// One `evaluations` row of an evaluation run; `topic` nil for the whole split.
    public struct Measure: Sendable, Equatable {
        public var evaluationID: String
        public var metric: String
        public var topic: String?
        public var value: Double
    }

    /// One `training_metrics` value.
    public struct MetricPoint: Sendable, Equatable {
        public var runID: String
        public var name: String
        public var step: Int
        public var value: Double
    }

    /// One evaluated query of an evaluation run, with the query, profile, response and critique.
    public struct Example: Sendable, Equatable {
        public var evaluationID: String
        public var checkpointID: String
        public var queryID: String
        public var question: String
        public var topic: String
        public var statedPreference: String?
        public var riskTolerance: String?
        public var hiddenPreferences: [String]
        public var responseText: String
        public var formatValid: Bool
        /// jsonb text.
        public var verdictJSON: String
        public var oracleScore: Double
        public var hiddenRecall: Double?
        public var prmScore: Double?
        public var win: Double?
        /// Nil when the example names no critique request.
        public var critiqueRequestID: String?
        /// `ok`, `malformed`, `failed`; nil when the named request has no stored reply.
        public var critiqueStatus: String?
        public var critiqueSteps: [CritiqueStep]
        public var critiqueFinalScore: Double?
        public var critiqueError: String?
    }

    /// One verdict of a stored critique chain: `Step 1` … `Answer`.
    public struct CritiqueStep: Sendable, Equatable {
        public var label: String
        public var critique: String
        public var score: Double
    }

    // MARK: - Queries

    /// The final checkpoint of every policy run whose id starts with `<study>-` (callers check the
    /// rest of the name), from checkpoints past step 0.
    public func finalCheckpoints(study: String) throws -> [RunCheckpoint] {
        let result = try connection.execute(
            """
            SELECT DISTINCT ON (run_id) run_id, checkpoint_id, step,
                   coalesce(config->>'warm_start', parent_checkpoint_id) AS warm_start,
                   config->>'estimator' AS estimator, config->>'reward' AS reward,
                   config->'training'->>'seed' AS seed
            FROM checkpoints
            WHERE model_kind = 'policy' AND step > 0 AND run_id LIKE $1 ESCAPE '\\'
            ORDER BY run_id, step DESC, created_at DESC
            """, [.text(Self.likePrefix(study + "-"))])
        return try result.map { row in
            RunCheckpoint(runID: try row.string("run_id") ?? "", checkpointID: try row.string("checkpoint_id") ?? "",
                          step: try row.int("step") ?? 0, warmStartID: try row.string("warm_start"),
                          estimator: try row.string("estimator"), reward: try row.string("reward"),
                          seed: try row.string("seed").flatMap { Int($0) })
        }
    }

    /// The run ids of policy checkpoints past step 0 (at most `limit`, in id order): what is there
    /// when a study has no runs.
    public func policyRunIDs(limit: Int = 500) throws -> [String] {
        try connection.execute(
            """
            SELECT DISTINCT run_id FROM checkpoints
            WHERE model_kind = 'policy' AND step > 0 AND run_id IS NOT NULL
            ORDER BY run_id LIMIT $1
            """, [.int(limit)]).map { try $0.string(0) ?? "" }
    }

    /// The newest evaluation run (by `evaluated_at`) of each of these checkpoints on each of these splits.
    public func latestEvaluationRuns(checkpointIDs: [String], splits: [String]) throws -> [EvaluationRun] {
        guard !checkpointIDs.isEmpty, !splits.isEmpty else { return [] }
        let result = try connection.execute(
            """
            SELECT DISTINCT ON (checkpoint_id, split) evaluation_id, checkpoint_id, split, examples,
                   baseline_checkpoint_id, evaluated_at
            FROM evaluation_runs
            WHERE checkpoint_id = ANY($1::text[]) AND split = ANY($2::text[])
            ORDER BY checkpoint_id, split, evaluated_at DESC, evaluation_id DESC
            """, [.textArray(checkpointIDs), .textArray(splits)])
        return try result.map { row in
            EvaluationRun(evaluationID: try row.string("evaluation_id") ?? "", checkpointID: try row.string("checkpoint_id") ?? "",
                          split: try row.string("split") ?? "", examples: try row.int("examples") ?? 0,
                          baselineCheckpointID: try row.string("baseline_checkpoint_id"), evaluatedAt: try row.date("evaluated_at"))
        }
    }

    /// The measures of these evaluation runs, whole split and per topic; one value per run, metric
    /// and topic (the newest row, should a run hold two).
    public func measures(evaluationIDs: [String]) throws -> [Measure] {
        guard !evaluationIDs.isEmpty else { return [] }
        let result = try connection.execute(
            """
            SELECT DISTINCT ON (evaluation_run, metric, topic) evaluation_run, metric, topic, value
            FROM evaluations
            WHERE evaluation_run = ANY($1::text[])
            ORDER BY evaluation_run, metric, topic, evaluated_at DESC, evaluation_id DESC
            """, [.textArray(evaluationIDs)])
        return try result.map { row in
            Measure(evaluationID: try row.string("evaluation_run") ?? "", metric: try row.string("metric") ?? "",
                    topic: try row.string("topic"), value: try row.double("value") ?? .nan)
        }
    }

    /// The named training metrics of these runs, in step order.
    public func trainingCurves(runIDs: [String], names: [String]) throws -> [MetricPoint] {
        guard !runIDs.isEmpty, !names.isEmpty else { return [] }
        let result = try connection.execute(
            """
            SELECT run_id, name, step, value FROM training_metrics
            WHERE run_id = ANY($1::text[]) AND name = ANY($2::text[])
            ORDER BY run_id, name, step
            """, [.textArray(runIDs), .textArray(names)])
        return try result.map { row in
            MetricPoint(runID: try row.string("run_id") ?? "", name: try row.string("name") ?? "",
                        step: try row.int("step") ?? 0, value: try row.double("value") ?? .nan)
        }
    }

    /// The first `limit` query ids (in id order) that every one of these evaluation runs has an example of.
    public func commonQueryIDs(evaluationIDs: [String], limit: Int) throws -> [String] {
        let distinct = Array(Set(evaluationIDs))
        guard !distinct.isEmpty else { return [] }
        return try connection.execute(
            """
            SELECT query_id FROM evaluation_examples
            WHERE evaluation_id = ANY($1::text[])
            GROUP BY query_id
            HAVING count(DISTINCT evaluation_id) = $2
            ORDER BY query_id
            LIMIT $3
            """, [.textArray(distinct), .int(distinct.count), .int(limit)]).map { try $0.string(0) ?? "" }
    }

    /// The examples of these queries in these evaluation runs.
    public func examples(evaluationIDs: [String], queryIDs: [String]) throws -> [Example] {
        guard !evaluationIDs.isEmpty, !queryIDs.isEmpty else { return [] }
        let result = try connection.execute(
            """
            SELECT x.evaluation_id, r.checkpoint_id, x.query_id, q.question, x.topic,
                   p.stated_preference, p.risk_tolerance, q.hidden_preferences,
                   s.text AS response_text, x.format_valid, x.verdict, x.oracle_score, x.hidden_recall,
                   x.prm_score, x.win, x.critique_request_id,
                   k.status AS critique_status, k.critique_chain, k.final_score, k.error AS critique_error
            FROM evaluation_examples x
            JOIN evaluation_runs r ON r.evaluation_id = x.evaluation_id
            JOIN queries q ON q.query_id = x.query_id
            LEFT JOIN profiles p ON p.profile_id = q.profile_id
            JOIN responses s ON s.response_id = x.response_id
            LEFT JOIN critiques k ON k.request_id = x.critique_request_id
            WHERE x.evaluation_id = ANY($1::text[]) AND x.query_id = ANY($2::text[])
            ORDER BY x.query_id, x.evaluation_id
            """, [.textArray(evaluationIDs), .textArray(queryIDs)])
        let decoder = JSONDecoder()
        return try result.map { row in
            var steps: [CritiqueStep] = []
            if let chain = try row.json("critique_chain") {
                let requestID = try row.string("critique_request_id") ?? "?"
                do {
                    steps = try decoder.decode([StoredCritique.ChainEntry].self, from: Data(chain.utf8)).map { entry in
                        CritiqueStep(label: entry.step.index.map { "Step \($0)" } ?? "Answer", critique: entry.critique, score: entry.score)
                    }
                } catch {
                    throw StoreError(.decodingFailed, "critique \(requestID): critique_chain does not decode: \(error)")
                }
            }
            return Example(
                evaluationID: try row.string("evaluation_id") ?? "", checkpointID: try row.string("checkpoint_id") ?? "",
                queryID: try row.string("query_id") ?? "", question: try row.string("question") ?? "",
                topic: try row.string("topic") ?? "", statedPreference: try row.string("stated_preference"),
                riskTolerance: try row.string("risk_tolerance"),
                hiddenPreferences: (try row.stringArray("hidden_preferences") ?? []).compactMap { $0 },
                responseText: try row.string("response_text") ?? "", formatValid: try row.bool("format_valid") ?? false,
                verdictJSON: try row.json("verdict") ?? "{}", oracleScore: try row.double("oracle_score") ?? .nan,
                hiddenRecall: try row.double("hidden_recall"), prmScore: try row.double("prm_score"), win: try row.double("win"),
                critiqueRequestID: try row.string("critique_request_id"), critiqueStatus: try row.string("critique_status"),
                critiqueSteps: steps, critiqueFinalScore: try row.double("final_score"),
                critiqueError: try row.string("critique_error"))
        }
    }

    /// `text` as a LIKE pattern matching itself literally, followed by anything.
    static func likePrefix(_ text: String) -> String {
        var out = ""
        for ch in text {
            if ch == "%" || ch == "_" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "%"
    }
}
