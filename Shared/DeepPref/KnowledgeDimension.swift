/// One implicit-preference dimension of the knowledge pack (`Knowledge/dimensions/<name>.json`).
public struct KnowledgeDimension: Codable, Sendable, Equatable {
    /// Stable identifier used in `hidden_preferences` and annotations, e.g. `privacy`.
    public var name: String
    /// Human wording, e.g. `emotional wellbeing`.
    public var label: String
    public var description: String
    /// Base harm of ignoring the preference, in [0, 1].
    public var severity: Double
    /// Phrases that alone are evidence (weight 1). A trailing `*` matches any word ending.
    public var strongKeywords: [String]
    /// Phrases that count half; two are needed for an inference.
    public var weakKeywords: [String]
    /// Standalone first-person sentences the builder puts in queries.
    public var cueSentences: [String]
    /// Trailing modifiers ("without ...") the builder appends to the request before its `?`.
    public var cueClauses: [String]
    /// Paraphrased cue sentences used only for the perturbed test split.
    public var heldOutCues: [String]
    public var latentRisks: [String]
    public var defensiveStrategies: [String]
    /// Answer sentences that respect the preference; each contains a respect marker.
    public var respectFragments: [String]
    /// Answer sentences that violate it; each contains a violation marker.
    public var violateFragments: [String]
    /// Phrases whose presence in an answer shows respect for the dimension.
    public var respectMarkers: [String]
    /// Phrases whose (un-negated) presence in an answer shows a violation.
    public var violationMarkers: [String]

    enum CodingKeys: String, CodingKey {
        case name, label, description, severity
        case strongKeywords = "strong_keywords", weakKeywords = "weak_keywords"
        case cueSentences = "cue_sentences", cueClauses = "cue_clauses", heldOutCues = "held_out_cues"
        case latentRisks = "latent_risks", defensiveStrategies = "defensive_strategies"
        case respectFragments = "respect_fragments", violateFragments = "violate_fragments"
        case respectMarkers = "respect_markers", violationMarkers = "violation_markers"
    }
}
