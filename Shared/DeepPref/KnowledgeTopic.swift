/// One of the 20 DeepPref topics (`Knowledge/topics.json`): scenario templates with slot fillers,
/// PrefEval-style stated preferences and the generic answers a superficial assistant would give.
public struct KnowledgeTopic: Codable, Sendable, Equatable {
    /// Exact published name, e.g. `Moving & Relocation`.
    public var name: String
    /// Lower-case identifier used in pair ids, e.g. `moving_relocation`.
    public var slug: String
    /// Dimensions plausible for this topic; the builder draws hidden preferences from them.
    public var dimensions: [String]
    /// Context sentences with `{slot}` placeholders, e.g. `I'm moving to {city} in {month}.`
    public var contexts: [String]
    /// Request sentences without the final `?`, with `{slot}` placeholders.
    public var requests: [String]
    /// Values for every slot used by `contexts` and `requests`.
    public var fillers: [String: [String]]
    public var statedPreferences: [StatedPreference]
    /// Generic advice answering the surface request only.
    public var surfaceAnswers: [String]

    enum CodingKeys: String, CodingKey {
        case name, slug, dimensions, contexts, requests, fillers
        case statedPreferences = "stated_preferences", surfaceAnswers = "surface_answers"
    }

    /// A preference in PrefEval's explicit style, with what respecting and violating it looks like.
    public struct StatedPreference: Codable, Sendable, Equatable {
        /// First person, e.g. `I prefer gifts that are handmade rather than mass-produced.`
        public var text: String
        /// A noun phrase naming what the user wants, used to acknowledge it (`handmade gifts`).
        public var focus: String
        /// What a generic answer would suggest against it (`a generic gift card`).
        public var violation: String
    }
}
