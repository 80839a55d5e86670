/// One criterion an answer is judged on.
public struct RubricItem: Codable, Sendable, Equatable {
    public var criterion: String
    /// The preference dimension it checks, when it checks one.
    public var dimension: String?
    /// Relative weight, > 0.
    public var weight: Double
    /// Phrases whose presence shows the answer respects the criterion.
    public var evidenceOfRespect: [String]
    /// Phrases whose presence shows the answer violates it.
    public var evidenceOfViolation: [String]

    public init(criterion: String, dimension: String?, weight: Double, evidenceOfRespect: [String],
                evidenceOfViolation: [String]) {
        self.criterion = criterion
        self.dimension = dimension
        self.weight = weight
        self.evidenceOfRespect = evidenceOfRespect
        self.evidenceOfViolation = evidenceOfViolation
    }

    enum CodingKeys: String, CodingKey {
        case criterion, dimension, weight
        case evidenceOfRespect = "evidence_of_respect", evidenceOfViolation = "evidence_of_violation"
    }
}
