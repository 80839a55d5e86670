/// A council member (`Knowledge/personas.json`): the dimensions it watches and how it phrases its
/// critique. `{cue}`, `{label}`, `{risk}` and `{strategy}` are filled in per query.
public struct CouncilPersona: Codable, Sendable, Equatable {
    public var name: String
    public var role: String
    /// Dimensions this persona speaks for, most important first.
    public var focus: [String]
    public var critiqueTemplate: String
    public var recommendationTemplate: String
    /// What the persona looks for, stated to a language model as its lens (LLM council).
    public var lens: String

    enum CodingKeys: String, CodingKey {
        case name, role, focus, lens
        case critiqueTemplate = "critique_template", recommendationTemplate = "recommendation_template"
    }
}
