/// One sampled response of a group, as the advantage estimators see it: its reward and, for the
/// process-level estimators, which part (step or answer) each of its tokens belongs to and each
/// part's score.
public struct GroupSample: Sendable, Equatable {
    /// The final score r_i in [−1, 1].
    public var reward: Double
    /// Scores v_{i,k} of the response's parts: its steps in order, then its answer.
    public var partScores: [Double]
    /// For each generated token, the index into `partScores` of the part it belongs to.
    public var tokenParts: [Int]

    public init(reward: Double, partScores: [Double] = [], tokenParts: [Int]) {
        precondition(partScores.isEmpty || tokenParts.allSatisfy { $0 >= 0 && $0 < partScores.count },
                     "every token must name one of the sample's parts")
        self.reward = reward
        self.partScores = partScores
        self.tokenParts = tokenParts
    }

    /// Generated tokens.
    public var length: Int { tokenParts.count }
}
