import Foundation

/// A profile and a query to annotate; published on `deeppref.queries.v1` by `cdra submit`,
/// the benchmark builder or any client. Keyed by `query_id`.
public struct QuerySubmitted: EventPayload {
    public static let eventType = "query_submitted"
    public static let schemaVersion = 1
    public static let defaultTopic = "deeppref.queries.v1"

    public var queryID: String
    public var profile: UserProfile
    public var question: String
    public var topic: String?
    /// Ground-truth hidden preference dimensions, when the query comes from the benchmark builder.
    public var hiddenPreferences: [String]
    /// Dataset split (`train`, `validation`, `test`, `test_perturbed`), when known.
    public var split: String?

    public init(queryID: String, profile: UserProfile, question: String, topic: String? = nil,
                hiddenPreferences: [String] = [], split: String? = nil) {
        self.queryID = queryID
        self.profile = profile
        self.question = question
        self.topic = topic
        self.hiddenPreferences = hiddenPreferences
        self.split = split
    }

    enum CodingKeys: String, CodingKey {
        case queryID = "query_id", profile, question, topic
        case hiddenPreferences = "hidden_preferences", split
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        queryID = try c.decode(String.self, forKey: .queryID)
        profile = try c.decode(UserProfile.self, forKey: .profile)
        question = try c.decode(String.self, forKey: .question)
        topic = try c.decodeIfPresent(String.self, forKey: .topic)
        hiddenPreferences = try c.decode([String].self, forKey: .hiddenPreferences, default: [])
        split = try c.decodeIfPresent(String.self, forKey: .split)
    }

    public var partitionKey: String? { queryID }

    public func validationProblems() -> [String] {
        var problems: [String] = []
        if queryID.isEmpty { problems.append("query_id is empty") }
        if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problems.append("question is empty") }
        if profile.profileID.isEmpty { problems.append("profile.profile_id is empty") }
        if let risk = profile.riskTolerance, !UserProfile.riskTolerances.contains(risk) {
            problems.append("profile.risk_tolerance '\(risk.prefix(64))' is not low, medium or high")
        }
        if let split, !EventValidation.splits.contains(split) {
            problems.append("split '\(split.prefix(64))' is not one of \(EventValidation.splits.sorted().joined(separator: ", "))")
        }
        return problems
    }
}

/// Who is asking: a stated preference plus, for benchmark profiles, hidden ones.
public struct UserProfile: Codable, Sendable, Equatable {
    public var profileID: String
    /// The preference the user stated, in PrefEval style ("I prefer ...").
    public var statedPreference: String
    /// `low`, `medium` or `high`.
    public var riskTolerance: String?

    /// The values `risk_tolerance` may take.
    public static let riskTolerances: Set<String> = ["low", "medium", "high"]

    public init(profileID: String, statedPreference: String, riskTolerance: String? = nil) {
        self.profileID = profileID
        self.statedPreference = statedPreference
        self.riskTolerance = riskTolerance
    }

    enum CodingKeys: String, CodingKey {
        case profileID = "profile_id", statedPreference = "stated_preference", riskTolerance = "risk_tolerance"
    }
}
