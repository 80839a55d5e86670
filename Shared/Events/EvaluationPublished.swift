/// The evaluator's measures for one checkpoint on one split (DESIGN §8); published on
/// `evaluation.results.v1`, keyed by `checkpoint_id` so one checkpoint's results stay in order.
public struct EvaluationPublished: EventPayload {
    public static let eventType = "evaluation_published"
    public static let schemaVersion = 1
    public static let defaultTopic = "evaluation.results.v1"

    public var evaluationID: String
    public var checkpointID: String
    /// `train`, `validation`, `test` or `test_perturbed`.
    public var split: String
    /// Examples evaluated (≥ 0).
    public var examples: Int
    /// Measure name → value, e.g. `acc_pf`, `acc_da`, `acc_mis`, `m_dm`, `m_ie`, `hidden_pref_recall`,
    /// `prm_score`, `win_rate` (documented in Docs/events.md).
    public var metrics: [String: Double]
    /// The checkpoint `win_rate` was measured against, when there is one.
    public var baselineCheckpointID: String?

    public init(evaluationID: String, checkpointID: String, split: String, examples: Int,
                metrics: [String: Double], baselineCheckpointID: String? = nil) {
        self.evaluationID = evaluationID
        self.checkpointID = checkpointID
        self.split = split
        self.examples = examples
        self.metrics = metrics
        self.baselineCheckpointID = baselineCheckpointID
    }

    enum CodingKeys: String, CodingKey {
        case evaluationID = "evaluation_id", checkpointID = "checkpoint_id", split, examples, metrics
        case baselineCheckpointID = "baseline_checkpoint_id"
    }

    public var partitionKey: String? { checkpointID }

    public func validationProblems() -> [String] {
        var problems: [String] = []
        EventValidation.checkNotEmpty(evaluationID, "evaluation_id", into: &problems)
        EventValidation.checkNotEmpty(checkpointID, "checkpoint_id", into: &problems)
        if !EventValidation.splits.contains(split) {
            problems.append("split '\(split.prefix(64))' is not one of \(EventValidation.splits.sorted().joined(separator: ", "))")
        }
        if examples < 0 { problems.append("examples \(examples) is negative") }
        if let id = baselineCheckpointID, id.isEmpty { problems.append("baseline_checkpoint_id is empty (omit it instead)") }
        EventValidation.checkMetrics(metrics, "metrics", into: &problems)
        return problems
    }
}
