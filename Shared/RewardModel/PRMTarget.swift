/// What the reward model is trained to write after the response.
public enum PRMTarget: String, Codable, Sendable, CaseIterable {
    /// The Pers-GenPRM: the whole critique chain (a critique and a score per step, the answer's
    /// verdict, the final score).
    case critique
    /// The scalar baseline on the same backbone and data: only "Final score: s".
    case scalar
}
