/// One step of a critique-annotated reasoning chain ("Step k: ...").
public struct ReasoningStep: Codable, Sendable, Equatable {
    /// 1-based.
    public var index: Int
    /// `surface_request`, `implicit_preferences`, `latent_risks`, `defensive_strategy` or `response_plan`.
    public var stage: String
    public var text: String
    public var critique: String
    /// In [−1, 1].
    public var score: Double

    public init(index: Int, stage: String, text: String, critique: String, score: Double) {
        self.index = index
        self.stage = stage
        self.text = text
        self.critique = critique
        self.score = score
    }
}
