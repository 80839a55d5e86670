/// One member of the Cognitive Council: a named lens through which a query is read.
public struct CouncilPersona: Sendable, Equatable {
    /// As it appears in critiques, e.g. `Security Expert`.
    public var name: String
    /// What this persona looks for, stated to the model as its lens.
    public var lens: String

    public init(name: String, lens: String) {
        self.name = name
        self.lens = lens
    }

    /// The six personas the published work names.
    public static let standard: [CouncilPersona] = [
        CouncilPersona(
            name: "Psychologist",
            lens: "emotional needs, stress, anxiety, dignity and the user's sense of control; what the wording says about how the user feels"),
        CouncilPersona(
            name: "Security Expert",
            lens: "privacy, data exposure, physical and digital safety, surveillance, fraud and legal exposure"),
        CouncilPersona(
            name: "Sociologist",
            lens: "relationships, family and social dynamics, culture, fairness to other people involved, social harmony"),
        CouncilPersona(
            name: "Pragmatist",
            lens: "budget, time, effort, convenience, low friction and what the user can realistically do with the means they have"),
        CouncilPersona(
            name: "Educator",
            lens: "the user's expertise level, what they already know, what they want to learn or do themselves, and how to explain it"),
        CouncilPersona(
            name: "Devil's Advocate",
            lens: "over-reading: which preferences the other personas might invent without support in the wording, and what the obvious answer would get wrong"),
    ]

    /// Dimension names suggested to the models; others are accepted when given in snake_case.
    public static let suggestedDimensions: [String] = [
        "privacy", "autonomy", "safety", "budget", "time", "emotional_wellbeing", "health_risk",
        "legal_exposure", "social_harmony", "sustainability", "expertise_level", "low_friction",
    ]
}
