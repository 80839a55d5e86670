/// A phrase that looks like a cue for a dimension but is not one (`Knowledge/distractors.json`),
/// e.g. "budget analyst" is a job, not a budget concern. The builder inserts its sentences into
/// queries; the council masks its neutral phrases before reading cues.
public struct KnowledgeDistractor: Codable, Sendable, Equatable {
    public var id: String
    /// The dimension a careless reader would infer.
    public var looksLike: String
    /// Spans in which the dimension's keywords carry no preference; masked by the council.
    public var neutralPhrases: [String]
    /// Sentences for the builder; each contains one of `neutralPhrases`.
    public var sentences: [String]

    enum CodingKeys: String, CodingKey {
        case id, looksLike = "looks_like", neutralPhrases = "neutral_phrases", sentences
    }
}
