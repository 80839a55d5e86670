import Foundation

/// A policy run's id as `policy-trainer experiment` names it: `<study>-<method>-<reward>-s<seed>`.
public struct PolicyRunName: Sendable, Hashable {
    /// The RL methods, in the report's order.
    public static let methods = ["grpo", "cdpa", "cdpa-step"]
    /// The reward settings, in the report's order.
    public static let rewards = ["fine", "coarse"]

    public let runID: String
    public let study: String
    public let method: String
    public let reward: String
    public let seed: Int

    /// Parses `runID` as a run of `study`; nil when it is not one (another study whose name starts
    /// with this one's, the experiment's `<study>/<method>/<reward>` table, an unknown method).
    public init?(runID: String, study: String) {
        let prefix = study + "-"
        guard !study.isEmpty, runID.hasPrefix(prefix) else { return nil }
        guard let (method, reward, seed) = Self.split(String(runID.dropFirst(prefix.count))) else { return nil }
        self.runID = runID
        self.study = study
        self.method = method
        self.reward = reward
        self.seed = seed
    }

    /// Parses `runID` as a run of whichever study it names; nil when it does not follow the pattern.
    public init?(runID: String) {
        // Longest method first: "x-cdpa-step-fine-s1" is study "x", method "cdpa-step".
        for method in Self.methods.sorted(by: { $0.count > $1.count }) {
            for reward in Self.rewards {
                let marker = "-\(method)-\(reward)-s"
                guard let range = runID.range(of: marker, options: .backwards) else { continue }
                let study = String(runID[..<range.lowerBound])
                if !study.isEmpty, let name = PolicyRunName(runID: runID, study: study) {
                    self = name
                    return
                }
            }
        }
        return nil
    }

    /// `<method>-<reward>-s<seed>` → its parts, with a known method and reward and a decimal seed.
    private static func split(_ rest: String) -> (String, String, Int)? {
        guard let seedMarker = rest.range(of: "-s", options: .backwards) else { return nil }
        let digits = rest[seedMarker.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let seed = Int(digits) else { return nil }
        let head = rest[..<seedMarker.lowerBound]
        guard let dash = head.lastIndex(of: "-") else { return nil }
        let method = String(head[..<dash]), reward = String(head[head.index(after: dash)...])
        guard methods.contains(method), rewards.contains(reward) else { return nil }
        return (method, reward, seed)
    }
}
