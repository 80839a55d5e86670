/// The critic's verdict on one reasoning step: "Step k: <critique> Score: <score>".
public struct StepVerdict: Codable, Sendable, Equatable {
    /// 1-based index of the step in ``CritiqueRequested/steps``.
    public var index: Int
    public var critique: String
    /// In [−1, 1].
    public var score: Double

    public init(index: Int, critique: String, score: Double) {
        self.index = index
        self.critique = critique
        self.score = score
    }
}
