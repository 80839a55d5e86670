/// What the reward model is trained to write after the response.
public enum PRMTarget: String, Codable, Sendable, CaseIterable {
    /// The Pers-GenPRM: the whole critique chain (a critique and a score per step, the answer's
    /// verdict, the final score).
    case critique
    /// The scalar baseline on the same backbone and data: only "Final score: s".
    case scalar
}

/// Where the critique of each step stands in the model's sequence.
public enum PRMLayout: String, Codable, Sendable, CaseIterable {
    /// The whole response, then the whole critique chain (the scalar model's layout).
    case afterResponse = "after_response"
    /// Each step followed at once by its critique, the answer by its own, then the final score:
    /// the model judges a step right after reading it, and decoding feeds the response's own
    /// text and the chain's labels, so only critiques and scores are generated.
    case interleaved
}
