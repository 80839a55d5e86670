import Foundation

/// One evaluation run (the newest for its checkpoint and split) with its measures.
public struct EvaluationRecord: Sendable, Equatable {
    public let evaluationID: String
    public let checkpointID: String
    /// `test` or `test_perturbed`.
    public let split: String
    /// Queries evaluated.
    public let examples: Int
    /// The checkpoint `win_rate` compares against.
    public let baselineCheckpointID: String?
    public let evaluatedAt: Date?
    /// Whole-split measures by metric (`acc_pf`, ...).
    public let measures: [String: Double]
    /// Per-topic measures: topic → metric → value.
    public let topics: [String: [String: Double]]

    public init(evaluationID: String, checkpointID: String, split: String, examples: Int, baselineCheckpointID: String?,
                evaluatedAt: Date?, measures: [String: Double], topics: [String: [String: Double]] = [:]) {
        self.evaluationID = evaluationID
        self.checkpointID = checkpointID
        self.split = split
        self.examples = examples
        self.baselineCheckpointID = baselineCheckpointID
        self.evaluatedAt = evaluatedAt
        self.measures = measures
        self.topics = topics
    }
}
