/// How a group's scores become per-token advantages (Docs/algorithms.md, "Advantages").
///
/// - `grpo`: A_i = (r_i − mean r) / (std r + ε) on every token of y_i; 0 when the group ties.
/// - `cdpa`, as published: every token takes the score of the part it belongs to,
///   r_{i,t} = v_{i,k(t)}, normalized within the group at each token position t over the samples
///   that have a token there; 0 where they tie or only one sample reaches t.
/// - `cdpaStep(λ)`: A_{i,t} = A_i + λ · (v_{i,k(t)} − μ_v) / (σ_v + ε), with μ_v, σ_v over every
///   part of every sample of the group, and the step term 0 when all parts tie.
///
/// std is the population standard deviation; "tie" means a spread (max − min) below ``tieTolerance``.
public enum AdvantageEstimator: Sendable, Equatable {
    case grpo
    case cdpa
    case cdpaStep(lambda: Double)

    /// Added to a standard deviation before dividing. Default: 1e-6
    public static let epsilon = 1e-6
    /// Scores closer together than this count as a tie. Default: 1e-9
    public static let tieTolerance = 1e-9

    /// The name used in configuration and logs: `grpo`, `cdpa`, `cdpa-step`.
    public var name: String {
        switch self {
        case .grpo: return "grpo"
        case .cdpa: return "cdpa"
        case .cdpaStep: return "cdpa-step"
        }
    }

    /// `grpo`, `cdpa` or `cdpa-step` (with `lambda`); nil for anything else.
    public init?(name: String, lambda: Double = 0.5) {
        switch name {
        case "grpo": self = .grpo
        case "cdpa": self = .cdpa
        case "cdpa-step": self = .cdpaStep(lambda: lambda)
        default: return nil
        }
    }

    /// Per-token advantages of one group, `result[i][t]` for token t of sample i.
    public func advantages(_ group: [GroupSample]) -> [[Double]] {
        switch self {
        case .grpo:
            let a = Self.normalized(group.map(\.reward))
            return zip(group, a).map { s, a in [Double](repeating: a, count: s.length) }
        case .cdpa:
            return Self.positionNormalized(group)
        case let .cdpaStep(lambda):
            let sequence = Self.normalized(group.map(\.reward))
            let all = group.flatMap(\.partScores)
            let (mean, std, tied) = Self.moments(all)
            return zip(group, sequence).map { s, a in
                s.tokenParts.map { k in
                    guard !tied, k < s.partScores.count else { return a }
                    return a + lambda * (s.partScores[k] - mean) / (std + Self.epsilon)
                }
            }
        }
    }

    /// (x − mean) / (std + ε) for each x; all 0 when the values tie (or there is only one).
    static func normalized(_ x: [Double]) -> [Double] {
        let (mean, std, tied) = moments(x)
        return x.map { tied ? 0 : ($0 - mean) / (std + epsilon) }
    }

    /// Mean, population standard deviation, and whether the values tie.
    static func moments(_ x: [Double]) -> (mean: Double, std: Double, tied: Bool) {
        guard x.count > 1, let lo = x.min(), let hi = x.max(), hi - lo >= tieTolerance else {
            return (x.first ?? 0, 0, true)
        }
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        return (mean, variance.squareRoot(), false)
    }

    private static func positionNormalized(_ group: [GroupSample]) -> [[Double]] {
        var out = group.map { [Double](repeating: 0, count: $0.length) }
        let longest = group.map(\.length).max() ?? 0
        for t in 0..<longest {
            let members = group.indices.filter { t < group[$0].length && !group[$0].partScores.isEmpty }
            let values = members.map { group[$0].partScores[group[$0].tokenParts[t]] }
            for (i, a) in zip(members, normalized(values)) { out[i][t] = a }
        }
        return out
    }
}

/// What a batch of groups' advantages look like, for the trainer's log.
public struct AdvantageSummary: Sendable, Equatable {
    /// Groups in which every token's advantage is 0.
    public var zeroAdvantageGroupFraction: Double
    /// Tokens whose advantage is not 0.
    public var nonZeroTokenFraction: Double

    public init(_ groups: [[[Double]]]) {
        let zeroGroups = groups.filter { $0.allSatisfy { $0.allSatisfy { $0 == 0 } } }.count
        let tokens = groups.flatMap { $0 }.flatMap { $0 }
        zeroAdvantageGroupFraction = groups.isEmpty ? 0 : Double(zeroGroups) / Double(groups.count)
        nonZeroTokenFraction = tokens.isEmpty ? 0 : Double(tokens.filter { $0 != 0 }.count) / Double(tokens.count)
    }
}
