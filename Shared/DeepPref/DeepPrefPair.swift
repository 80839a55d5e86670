import Events

/// One benchmark line: a profile and a query in PrefEval's shape (`preference`, `question`,
/// `explanation`) plus the ground-truth hidden preferences and the split. Written as JSONL by
/// `cdra deeppref build` and `cdra deeppref import-prefeval`.
public struct DeepPrefPair: Codable, Sendable, Equatable {
    public var id: String
    public var topic: String
    /// The stated preference (PrefEval style).
    public var preference: String
    public var question: String
    /// Why a generic answer would likely violate the preference.
    public var explanation: String
    /// Ground truth: dimension names the query's wording was built to carry (empty for imports).
    public var hiddenPreferences: [String]
    /// `train`, `validation`, `test`, `test_perturbed`, or nil for imports.
    public var split: String?
    public var profileID: String
    /// `low`, `medium` or `high`; nil for imports.
    public var riskTolerance: String?
    /// Where the pair comes from: `deeppref-builder` or `prefeval-explicit/<file stem>`.
    public var source: String
    /// The cue texts inserted for the hidden preferences, verbatim (ground truth, for analysis).
    public var cues: [String]
    /// Dimensions the inserted distractor sentences look like (they must not be inferred).
    public var distractors: [String]

    public init(id: String, topic: String, preference: String, question: String, explanation: String,
                hiddenPreferences: [String], split: String?, profileID: String, riskTolerance: String?,
                source: String, cues: [String] = [], distractors: [String] = []) {
        self.id = id
        self.topic = topic
        self.preference = preference
        self.question = question
        self.explanation = explanation
        self.hiddenPreferences = hiddenPreferences
        self.split = split
        self.profileID = profileID
        self.riskTolerance = riskTolerance
        self.source = source
        self.cues = cues
        self.distractors = distractors
    }

    enum CodingKeys: String, CodingKey {
        case id, topic, preference, question, explanation
        case hiddenPreferences = "hidden_preferences", split
        case profileID = "profile_id", riskTolerance = "risk_tolerance", source, cues, distractors
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        topic = try c.decode(String.self, forKey: .topic)
        preference = try c.decode(String.self, forKey: .preference)
        question = try c.decode(String.self, forKey: .question)
        explanation = try c.decodeIfPresent(String.self, forKey: .explanation) ?? ""
        hiddenPreferences = try c.decodeIfPresent([String].self, forKey: .hiddenPreferences) ?? []
        split = try c.decodeIfPresent(String.self, forKey: .split)
        profileID = try c.decodeIfPresent(String.self, forKey: .profileID) ?? "profile-\(id)"
        riskTolerance = try c.decodeIfPresent(String.self, forKey: .riskTolerance)
        source = try c.decodeIfPresent(String.self, forKey: .source) ?? "unknown"
        cues = try c.decodeIfPresent([String].self, forKey: .cues) ?? []
        distractors = try c.decodeIfPresent([String].self, forKey: .distractors) ?? []
    }

    /// The event form published on `deeppref.queries.v1` (explanation, cues and source stay here).
    public var querySubmitted: QuerySubmitted {
        QuerySubmitted(queryID: id,
                       profile: UserProfile(profileID: profileID, statedPreference: preference, riskTolerance: riskTolerance),
                       question: question, topic: topic, hiddenPreferences: hiddenPreferences, split: split)
    }
}
