/// A study's runs grouped the way the report shows them: one row per method and reward setting,
/// plus SFT, the warm start the runs started from.
public struct Study: Sendable {
    public let name: String
    /// Seed order within each setting, settings in report order.
    public let runs: [StudyRun]
    /// The distinct warm starts of the runs (normally one).
    public let warmStartIDs: [String]

    public init(name: String, runs: [StudyRun]) {
        self.name = name
        self.runs = runs.sorted { ($0.setting, $0.name.seed, $0.name.runID) < ($1.setting, $1.name.seed, $1.name.runID) }
        var seen = Set<String>()
        warmStartIDs = self.runs.compactMap(\.warmStartID).filter { seen.insert($0).inserted }
    }

    /// SFT (when the runs name a warm start), then each method and reward setting that has runs.
    public var settings: [MethodSetting] {
        let rl = Set(runs.map(\.setting)).sorted()
        return (warmStartIDs.isEmpty ? [] : [.sft]) + rl
    }

    /// The checkpoints a setting's measures come from: its runs' final checkpoints in seed order;
    /// for SFT, the warm starts.
    public func checkpointIDs(of setting: MethodSetting) -> [String] {
        setting == .sft ? warmStartIDs : runs.filter { $0.setting == setting }.map(\.finalCheckpointID)
    }

    public func runs(of setting: MethodSetting) -> [StudyRun] {
        runs.filter { $0.setting == setting }
    }

    /// Every checkpoint whose evaluations the report reads.
    public var checkpointIDs: [String] {
        settings.flatMap(checkpointIDs(of:))
    }

    /// One checkpoint per setting for the example prompts: the lowest seed's final checkpoint (the
    /// first warm start for SFT).
    public var representatives: [(setting: MethodSetting, checkpointID: String)] {
        settings.compactMap { setting in checkpointIDs(of: setting).first.map { (setting, $0) } }
    }

    /// The run that wrote a checkpoint, if it is a run's final checkpoint.
    public func run(finalCheckpointID: String) -> StudyRun? {
        runs.first { $0.finalCheckpointID == finalCheckpointID }
    }
}
