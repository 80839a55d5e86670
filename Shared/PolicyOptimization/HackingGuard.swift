import Foundation

/// The reward-hacking guard (DESIGN §7, Docs/algorithms.md "The reward-hacking guard"): a fixed
/// share of every batch is also scored by the oracle judge; the PRM–oracle gap is the mean of
/// (PRM final score − oracle final score) over those samples, positive when the PRM overrates.
/// When the gap exceeds the threshold for `patience` consecutive steps the trainer refreshes the
/// PRM; when that would be refresh number `maxRefreshes + 1` it stops instead.
///
/// The state is plain values (`Codable`), so a checkpoint restores it exactly.
public struct HackingGuard: Sendable, Equatable, Codable {
    public struct Configuration: Sendable, Equatable, Codable {
        /// Share of each batch also scored by the oracle, in (0, 1]. Default: 0.25
        public var oracleShare: Double
        /// Gap above which a step counts as gamed. Default: 0.3
        public var gapThreshold: Double
        /// Consecutive gamed steps before a refresh (K). Default: 3
        public var patience: Int
        /// Refreshes allowed before the run stops (R). Default: 2
        public var maxRefreshes: Int

        public init(oracleShare: Double = 0.25, gapThreshold: Double = 0.3, patience: Int = 3, maxRefreshes: Int = 2) {
            self.oracleShare = oracleShare
            self.gapThreshold = gapThreshold
            self.patience = patience
            self.maxRefreshes = maxRefreshes
        }

        /// Every problem, one sentence each; empty when valid.
        public var problems: [String] {
            var p: [String] = []
            if !(oracleShare > 0 && oracleShare <= 1) { p.append("the oracle share \(oracleShare) must be in (0, 1]") }
            if !gapThreshold.isFinite { p.append("the gap threshold must be a number") }
            if patience < 1 { p.append("the patience \(patience) must be at least 1") }
            if maxRefreshes < 0 { p.append("the refresh limit \(maxRefreshes) must not be negative") }
            return p
        }
    }

    public enum Decision: Sendable, Equatable {
        case proceed
        /// Refresh the PRM (the n-th refresh, from 1).
        case refresh(number: Int)
        /// Stop the run, saying why.
        case stop(String)
    }

    public let configuration: Configuration
    /// Consecutive steps with the gap above the threshold.
    public private(set) var streak = 0
    /// Refreshes asked for so far.
    public private(set) var refreshes = 0

    public init(_ configuration: Configuration = Configuration()) {
        precondition(configuration.problems.isEmpty, configuration.problems.joined(separator: "; "))
        self.configuration = configuration
    }

    /// How many of a batch of `n` samples the oracle also scores: ⌈share · n⌉, at least 1.
    public func oracleCount(batch n: Int) -> Int {
        n == 0 ? 0 : min(n, max(1, Int((configuration.oracleShare * Double(n)).rounded(.up))))
    }

    /// The mean of (PRM − oracle) over the samples both scored; nil when there are none.
    public static func gap(prm: [Double], oracle: [Double]) -> Double? {
        precondition(prm.count == oracle.count, "one oracle score per PRM score")
        guard !prm.isEmpty else { return nil }
        return zip(prm, oracle).map { $0 - $1 }.reduce(0, +) / Double(prm.count)
    }

    /// Records one step's gap and decides. A step without a gap (nothing scored by both) leaves
    /// the streak as it is.
    public mutating func observe(gap: Double?) -> Decision {
        guard let gap else { return .proceed }
        streak = gap > configuration.gapThreshold ? streak + 1 : 0
        guard streak >= configuration.patience else { return .proceed }
        streak = 0
        guard refreshes < configuration.maxRefreshes else {
            return .stop(String(format: "the PRM–oracle gap stayed above %.2f for %d steps after %d refresh(es) of the PRM; the policy keeps gaming it, so the run stops (raise the refresh limit, or improve the PRM's training data)",
                                configuration.gapThreshold, configuration.patience, refreshes))
        }
        refreshes += 1
        return .refresh(number: refreshes)
    }
}
