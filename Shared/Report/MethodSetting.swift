/// One row of the report: a method under a reward setting, or the SFT warm start (no reward).
public struct MethodSetting: Sendable, Hashable, Comparable {
    /// `sft`, `grpo`, `cdpa` or `cdpa-step`.
    public let method: String
    /// `fine` or `coarse`; nil for SFT.
    public let reward: String?

    public init(method: String, reward: String?) {
        self.method = method
        self.reward = reward
    }

    public static let sft = MethodSetting(method: "sft", reward: nil)

    /// `SFT`, `GRPO`, `CDPA`, `CDPA-step`.
    public var label: String {
        switch method {
        case "sft": return "SFT"
        case "grpo": return "GRPO"
        case "cdpa": return "CDPA"
        case "cdpa-step": return "CDPA-step"
        default: return method
        }
    }

    /// `GRPO · fine`; `SFT`.
    public var title: String { reward.map { "\(label) · \($0)" } ?? label }

    /// `grpo/fine`; `sft`: a stable key for attributes.
    public var key: String { reward.map { "\(method)/\($0)" } ?? method }

    /// SFT first, then by reward setting (fine, coarse), then by method (GRPO, CDPA, CDPA-step).
    public static func < (a: MethodSetting, b: MethodSetting) -> Bool {
        func rank(_ s: MethodSetting) -> (Int, Int, String) {
            guard let reward = s.reward else { return (-1, -1, s.method) }
            return (PolicyRunName.rewards.firstIndex(of: reward) ?? PolicyRunName.rewards.count,
                    PolicyRunName.methods.firstIndex(of: s.method) ?? PolicyRunName.methods.count, s.method)
        }
        return rank(a) < rank(b)
    }

    /// The method's colour in every chart; the reward setting changes the line's dash and the bar's shade.
    public var color: String {
        switch method {
        case "sft": return "#5f6368"
        case "grpo": return "#1f6fb4"
        case "cdpa": return "#c2410c"
        case "cdpa-step": return "#15803d"
        default: return "#7c3aed"
        }
    }

    /// Coarse rewards draw dashed lines and lighter bars.
    public var isCoarse: Bool { reward == "coarse" }
}
