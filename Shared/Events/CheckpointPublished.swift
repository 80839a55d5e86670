/// A model checkpoint stored in PostgreSQL (the weights travel there, not over Kafka); published
/// on `training.checkpoints.v1` by the policy trainer and the PRM trainer, keyed by `run_id` so
/// a run's checkpoints arrive in step order.
public struct CheckpointPublished: EventPayload {
    public static let eventType = "checkpoint_published"
    public static let schemaVersion = 1
    public static let defaultTopic = "training.checkpoints.v1"

    public var checkpointID: String
    public var modelKind: ModelKind
    public var runID: String
    /// Optimizer steps taken when the checkpoint was written (≥ 0).
    public var step: Int64
    public var algorithm: TrainingAlgorithm?
    /// SHA-256 of the stored safetensors bytes, 64 lowercase hex digits.
    public var sha256: String
    /// Size of the stored safetensors bytes (> 0).
    public var sizeBytes: Int64
    /// Training metrics at this step (e.g. `loss`, `mean_reward`, `kl`). Default: [:].
    public var metrics: [String: Double]

    public init(checkpointID: String, modelKind: ModelKind, runID: String, step: Int64,
                algorithm: TrainingAlgorithm? = nil, sha256: String, sizeBytes: Int64, metrics: [String: Double] = [:]) {
        self.checkpointID = checkpointID
        self.modelKind = modelKind
        self.runID = runID
        self.step = step
        self.algorithm = algorithm
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
        self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey {
        case checkpointID = "checkpoint_id", modelKind = "model_kind", runID = "run_id", step, algorithm
        case sha256, sizeBytes = "size_bytes", metrics
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpointID = try c.decode(String.self, forKey: .checkpointID)
        modelKind = try c.decode(ModelKind.self, forKey: .modelKind)
        runID = try c.decode(String.self, forKey: .runID)
        step = try c.decode(Int64.self, forKey: .step)
        algorithm = try c.decodeIfPresent(TrainingAlgorithm.self, forKey: .algorithm)
        sha256 = try c.decode(String.self, forKey: .sha256)
        sizeBytes = try c.decode(Int64.self, forKey: .sizeBytes)
        metrics = try c.decode([String: Double].self, forKey: .metrics, default: [:])
    }

    public var partitionKey: String? { runID }

    public func validationProblems() -> [String] {
        var problems: [String] = []
        EventValidation.checkNotEmpty(checkpointID, "checkpoint_id", into: &problems)
        EventValidation.checkNotEmpty(runID, "run_id", into: &problems)
        if step < 0 { problems.append("step \(step) is negative") }
        if sizeBytes <= 0 { problems.append("size_bytes \(sizeBytes) is not positive") }
        let isHex = sha256.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        if sha256.utf8.count != 64 || !isHex { problems.append("sha256 is not 64 lowercase hex digits") }
        switch (modelKind, algorithm) {
        case (.prm, .sft?), (.prm, .grpo?), (.prm, .cdpa?):
            problems.append("a prm checkpoint cannot come from \(algorithm!.rawValue)")
        case (.policy, .prmSFT?):
            problems.append("a policy checkpoint cannot come from prm_sft")
        default: break
        }
        EventValidation.checkMetrics(metrics, "metrics", into: &problems)
        return problems
    }
}
