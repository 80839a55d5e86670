/// Pack-wide phrase lists (`Knowledge/lexicon.json`) that the judge's rules and the council's
/// answer writer use. Every list is matched case-insensitively at word boundaries.
public struct KnowledgeLexicon: Codable, Sendable, Equatable {
    /// Words that cancel a violation marker when they precede it within a few words ("avoid", "rather than").
    public var negators: [String]
    /// Phrases that tie a preference to the user ("since you", "you mentioned").
    public var attributionMarkers: [String]
    /// Phrases that offer an alternative ("instead", "a middle ground").
    public var alternativeMarkers: [String]
    /// Phrases that show reasoning ("because", "so that", "that way").
    public var reasoningMarkers: [String]
    /// Claims no honest advice makes ("guaranteed", "completely safe").
    public var overclaimMarkers: [String]
    /// Refusals ("I can't help").
    public var refusalMarkers: [String]
    /// Words ignored when comparing content (articles, pronouns, auxiliaries).
    public var stopwords: [String]
    /// PrefEval explicit file stem → DeepPref topic name.
    public var prefevalTopicMap: [String: String]

    enum CodingKeys: String, CodingKey {
        case negators, attributionMarkers = "attribution_markers", alternativeMarkers = "alternative_markers"
        case reasoningMarkers = "reasoning_markers", overclaimMarkers = "overclaim_markers"
        case refusalMarkers = "refusal_markers", stopwords, prefevalTopicMap = "prefeval_topic_map"
    }
}
