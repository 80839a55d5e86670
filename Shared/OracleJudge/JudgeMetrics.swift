/// The evaluation's aggregate measures over many verdicts (DESIGN §8), as fractions in [0, 1].
public struct JudgeMetrics: Codable, Sendable, Equatable {
    public var count: Int
    /// Preference-following accuracy: share of verdicts with ``JudgeVerdict/followsPreference``.
    public var accPF: Double
    /// Quality-aware accuracy: share with ``JudgeVerdict/followsWithQuality``.
    public var accDA: Double
    /// Misleading rate (lower is better).
    public var accMis: Double
    /// Deep-mining rate: share that surfaces a hidden preference.
    public var mDM: Double
    /// Innovative-expression rate.
    public var mIE: Double
    public var acknowledgeRate: Double
    public var violationRate: Double
    public var hallucinationRate: Double
    public var helpfulRate: Double

    /// All zero when `verdicts` is empty.
    public init(verdicts: [JudgeVerdict]) {
        count = verdicts.count
        func rate(_ f: (JudgeVerdict) -> Bool) -> Double {
            verdicts.isEmpty ? 0 : Double(verdicts.filter(f).count) / Double(verdicts.count)
        }
        accPF = rate(\.followsPreference)
        accDA = rate(\.followsWithQuality)
        accMis = rate(\.misleading)
        mDM = rate(\.deepMining)
        mIE = rate(\.innovative)
        acknowledgeRate = rate(\.acknowledgesPreference)
        violationRate = rate(\.violatesPreference)
        hallucinationRate = rate(\.hallucinatesPreference)
        helpfulRate = rate(\.helpful)
    }

    enum CodingKeys: String, CodingKey {
        case count, accPF = "acc_pf", accDA = "acc_da", accMis = "acc_mis", mDM = "m_dm", mIE = "m_ie"
        case acknowledgeRate = "acknowledge_rate", violationRate = "violation_rate"
        case hallucinationRate = "hallucination_rate", helpfulRate = "helpful_rate"
    }
}
