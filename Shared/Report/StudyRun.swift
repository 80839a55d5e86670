/// A policy run of a study, by its final checkpoint (its highest step).
public struct StudyRun: Sendable, Equatable {
    public let name: PolicyRunName
    public let finalCheckpointID: String
    public let finalStep: Int
    /// The SFT checkpoint the run started from (`config.warm_start`, else the parent checkpoint).
    public let warmStartID: String?
    /// What the checkpoint's `config` says, when it says it: checked against the run's name.
    public let configuredEstimator: String?
    public let configuredReward: String?
    public let configuredSeed: Int?

    public init(name: PolicyRunName, finalCheckpointID: String, finalStep: Int, warmStartID: String?,
                configuredEstimator: String? = nil, configuredReward: String? = nil, configuredSeed: Int? = nil) {
        self.name = name
        self.finalCheckpointID = finalCheckpointID
        self.finalStep = finalStep
        self.warmStartID = warmStartID
        self.configuredEstimator = configuredEstimator
        self.configuredReward = configuredReward
        self.configuredSeed = configuredSeed
    }

    public var setting: MethodSetting { MethodSetting(method: name.method, reward: name.reward) }

    /// Where the stored configuration contradicts the run's name, one phrase each.
    public var configurationMismatches: [String] {
        var out: [String] = []
        if let e = configuredEstimator, e != name.method { out.append("estimator \(e)") }
        if let r = configuredReward, r != name.reward { out.append("reward \(r)") }
        if let s = configuredSeed, s != name.seed { out.append("seed \(s)") }
        return out
    }
}
