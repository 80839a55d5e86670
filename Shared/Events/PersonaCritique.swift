/// One council persona's structured critique of a query.
public struct PersonaCritique: Codable, Sendable, Equatable {
    /// e.g. `Psychologist`, `Security Expert`, `Devil's Advocate`.
    public var persona: String
    /// The span of the query the critique relies on, quoted verbatim (empty when none).
    public var quotedCue: String
    /// Dimension name of the preference this persona infers.
    public var inferredPreference: String
    public var latentRisk: String
    /// In [0, 1]: how much harm ignoring the preference would do.
    public var severity: Double
    public var recommendation: String

    public init(persona: String, quotedCue: String, inferredPreference: String, latentRisk: String,
                severity: Double, recommendation: String) {
        self.persona = persona
        self.quotedCue = quotedCue
        self.inferredPreference = inferredPreference
        self.latentRisk = latentRisk
        self.severity = severity
        self.recommendation = recommendation
    }

    enum CodingKeys: String, CodingKey {
        case persona, quotedCue = "quoted_cue", inferredPreference = "inferred_preference"
        case latentRisk = "latent_risk", severity, recommendation
    }
}
