/// The critic's verdict on the final answer: "Answer: <critique> Score: <score>".
public struct AnswerVerdict: Codable, Sendable, Equatable {
    public var critique: String
    /// In [−1, 1].
    public var score: Double

    public init(critique: String, score: Double) {
        self.critique = critique
        self.score = score
    }
}
