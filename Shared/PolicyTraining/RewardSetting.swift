/// How a critic's final score becomes the reward (issue "CDPA policy trainer", `make experiment`):
/// the PRM's fine-grained score as it is, or rounded to coarse bands as real judges give them.
public enum RewardSetting: String, Codable, Sendable, CaseIterable {
    /// The final score as the critic gave it.
    case fine
    /// The final score rounded to the nearest of −1, −0.5, 0, 0.5, 1 (step scores stay as they are).
    case coarse

    public func reward(_ finalScore: Double) -> Double {
        switch self {
        case .fine: return finalScore
        case .coarse: return min(1, max(-1, (finalScore * 2).rounded() / 2))
        }
    }
}
