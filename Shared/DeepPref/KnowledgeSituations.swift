/// What situations imply and which dimensions matter in which topic (`Knowledge/situations.json`):
/// the part of the council's reading that rests on knowing situations rather than spotting words.
public struct KnowledgeSituations: Codable, Sendable, Equatable {
    public var situations: [Situation]
    /// Topic slug → dimension → how strongly it tends to matter there, in [0, 1].
    public var topicPriors: [String: [String: Double]]

    public static let none = KnowledgeSituations(situations: [], topicPriors: [:])

    public init(situations: [Situation], topicPriors: [String: [String: Double]]) {
        self.situations = situations
        self.topicPriors = topicPriors
    }

    enum CodingKeys: String, CodingKey {
        case situations, topicPriors = "topic_priors"
    }

    /// One everyday situation, the wording that names it and the preferences it carries.
    public struct Situation: Codable, Sendable, Equatable {
        /// Short noun phrase, e.g. `travelling alone`; quoted as "implied by: travelling alone".
        public var name: String
        /// Phrases that name the situation (case-insensitive, word boundaries, trailing `*`).
        public var triggers: [String]
        /// Sentences a person might write in this situation (matched by meaning).
        public var examples: [String]
        public var implies: [Implication]
    }

    public struct Implication: Codable, Sendable, Equatable {
        public var dimension: String
        /// How reliably a careful reader infers it from the situation, in [0, 1].
        public var strength: Double
        public var why: String
    }
}

/// How the council turns its evidence into a decision (`Knowledge/calibration.json`), written by
/// `cdra council calibrate` from the hand-written development queries (never from the benchmark).
///
/// confidence(d) = σ(bias + Σ weights[f] · feature_f(d) + weights["standing"] · standing(d)), where
/// standing(d) = r(d) − max over the query's dimensions of r, r(d) = Σ ranking[f] · feature_f(d);
/// d is inferred when confidence ≥ threshold.
public struct CouncilCalibration: Codable, Sendable, Equatable {
    /// Feature name → weight; names as `PreferenceFeatures` defines them.
    public var weights: [String: Double]
    public var bias: Double
    /// First-stage weights (the same features, no bias) that rank a query's dimensions; nil: no standing.
    public var ranking: [String: Double]?
    public var threshold: Double
    /// Cosine similarity below which a clause means nothing (rescaled to [0, 1] above it).
    public var similarityFloor: Double
    /// Where the numbers came from (file, items, date) and what they scored there.
    public var fittedOn: String
    public var development: [String: Double]

    public init(weights: [String: Double], bias: Double, ranking: [String: Double]? = nil, threshold: Double,
                similarityFloor: Double, fittedOn: String, development: [String: Double]) {
        self.ranking = ranking
        self.similarityFloor = similarityFloor
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
        self.fittedOn = fittedOn
        self.development = development
    }

    enum CodingKeys: String, CodingKey {
        case weights, bias, ranking, threshold, similarityFloor = "similarity_floor", fittedOn = "fitted_on", development
    }
}
