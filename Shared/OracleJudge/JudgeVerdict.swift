/// The eight yes/no checks of the published evaluation for one response, and the measures derived
/// from them (DESIGN §8). Each check's exact rule is documented in Docs/deeppref.md.
public struct JudgeVerdict: Codable, Sendable, Equatable {
    public var acknowledgesPreference: Bool
    public var violatesPreference: Bool
    public var hallucinatesPreference: Bool
    public var helpful: Bool
    public var innovative: Bool
    public var misleading: Bool
    /// Surfaces at least one hidden preference.
    public var deepMining: Bool
    public var thoughtful: Bool
    /// Dimensions the response was found to address.
    public var addressedDimensions: [String]
    /// Why, one short sentence per check; for reports and PRM training critiques.
    public var rationale: [String: String]

    public init(acknowledgesPreference: Bool, violatesPreference: Bool, hallucinatesPreference: Bool,
                helpful: Bool, innovative: Bool, misleading: Bool, deepMining: Bool, thoughtful: Bool,
                addressedDimensions: [String] = [], rationale: [String: String] = [:]) {
        self.acknowledgesPreference = acknowledgesPreference
        self.violatesPreference = violatesPreference
        self.hallucinatesPreference = hallucinatesPreference
        self.helpful = helpful
        self.innovative = innovative
        self.misleading = misleading
        self.deepMining = deepMining
        self.thoughtful = thoughtful
        self.addressedDimensions = addressedDimensions
        self.rationale = rationale
    }

    /// Preference following (PrefEval's rule): not unhelpful, not an unaware violation, not a
    /// hallucinated preference, not inconsistent (acknowledges yet violates).
    public var followsPreference: Bool {
        helpful && !violatesPreference && !hallucinatesPreference
    }

    /// Quality-aware accuracy: follows the preference and is thoughtful (reasons about it).
    public var followsWithQuality: Bool { followsPreference && thoughtful }
}
