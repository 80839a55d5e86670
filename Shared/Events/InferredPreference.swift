/// A hidden preference the council believes the user holds.
public struct InferredPreference: Codable, Sendable, Equatable {
    /// Knowledge-pack dimension name, e.g. `privacy`, `autonomy`, `budget`.
    public var dimension: String
    /// In [0, 1].
    public var confidence: Double
    /// The span of the query (or of the stated preference) it rests on, quoted verbatim.
    public var evidence: String
    /// The situation it was inferred from when no words of the query state it, e.g.
    /// `travelling alone` (shown as "implied by: travelling alone"); absent otherwise.
    public var impliedBy: String?

    public init(dimension: String, confidence: Double, evidence: String, impliedBy: String? = nil) {
        self.dimension = dimension
        self.confidence = confidence
        self.evidence = evidence
        self.impliedBy = impliedBy
    }

    enum CodingKeys: String, CodingKey {
        case dimension, confidence, evidence, impliedBy = "implied_by"
    }
}
