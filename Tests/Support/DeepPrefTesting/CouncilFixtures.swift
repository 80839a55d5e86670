import ChatCompletions
import ChatCompletionsTesting
import Events
import Foundation
import OracleJudge
import Resilience

/// Queries and scripted model replies shared by the LLM council, judge and batch tests.
public enum CouncilFixtures {
    public static let apiKey = "sk-test-8f3a61c2d9e04b7c"
    public static let question = "I need to find a way to make sure my family is safe when I travel alone. "
        + "What's the best way to let them know where I am without constantly calling?"

    public static func query(id: String = "q-1", question: String = question) -> QuerySubmitted {
        QuerySubmitted(queryID: id, profile: UserProfile(profileID: "p-1", statedPreference: "I travel for work every month."),
                       question: question, topic: "Personal Safety", hiddenPreferences: ["autonomy", "privacy"])
    }

    public static func configuration(_ server: ChatServerFixture, timeout: TimeInterval = 10, maxAttempts: Int = 3,
                              repairs: Int = 2, requiresKey: Bool = true) -> LLMEndpointConfiguration {
        LLMEndpointConfiguration(baseURL: server.baseURL, model: "test-model", requiresAPIKey: requiresKey,
                                 timeout: timeout, maxAttempts: maxAttempts,
                                 backoff: Backoff(initial: .milliseconds(10), maximum: .seconds(5)), maxRepairAttempts: repairs)
    }

    public static func client(_ configuration: LLMEndpointConfiguration, key: String? = apiKey) -> ChatCompletionsClient {
        ChatCompletionsClient(configuration: configuration, environment: {
            key.map { ["CDRA_LLM_API_KEY": $0] } ?? [:]
        })
    }

    /// A small annotation of ``query(id:question:)`` with one inferred preference and a rubric item.
    public static func annotation() -> CouncilAnnotation {
        CouncilAnnotation(
            queryID: "q-1", backend: "builtin",
            inferredPreferences: [InferredPreference(dimension: "autonomy", confidence: 0.8, evidence: "without constantly calling")],
            personaCritiques: [], thoughtTree: [],
            reasoningChain: [ReasoningStep(index: 1, stage: "surface_request", text: "t", critique: "c", score: 0.5)],
            alignedAnswer: "Use check-ins.", superficialAnswer: "Track 24/7.",
            rubric: [RubricItem(criterion: "Check-ins over tracking", dimension: "autonomy", weight: 1,
                                evidenceOfRespect: ["check-in"], evidenceOfViolation: ["24/7"])])
    }

    // MARK: - Persona replies

    public static func personaReply(cue: String, dimension: String, severity: Double = 0.6) -> String {
        jsonText(["critiques": [[
            "quoted_cue": cue, "inferred_preference": dimension,
            "latent_risk": "An answer that ignores this leaves the user uneasy.",
            "severity": severity, "recommendation": "Offer a lighter alternative.",
        ]]])
    }

    public static let emptyPersonaReply = jsonText(["critiques": [Any]()])

    /// Routes for the six personas: a fenced reply wrapped in prose, a cue that needs repair, an
    /// ungrounded cue (dropped), and valid plain replies.
    public static var personaRoutes: [(String, [[String: Any]])] {
        [
            ("You are the Psychologist", [["content": "Here is my analysis:\n```json\n"
                + personaReply(cue: "without constantly calling", dimension: "Low Friction") + "\n```\nHope this helps."]]),
            ("You are the Security Expert", [["content": personaReply(cue: "\u{201C}Let them know where I am\u{201D}", dimension: "privacy", severity: 0.8)]]),
            ("You are the Devil's Advocate", [["content": personaReply(cue: "I hate tracking apps", dimension: "privacy")]]),
            ("You are the Pragmatist", [["content": personaReply(cue: "without constantly calling", dimension: "autonomy")]]),
            ("You are the", [["content": emptyPersonaReply]]),
        ]
    }

    // MARK: - Moderator replies

    public static func moderatorObject() -> [String: Any] {
        [
            "inferred_preferences": [
                ["dimension": "autonomy", "confidence": 0.85, "evidence": "without constantly calling"],
                ["dimension": "privacy", "confidence": "0.7", "evidence": "Where I Am"],
                ["dimension": "budget", "confidence": 0.4, "evidence": "cheap plans only"],
            ],
            "thought_tree": [
                ["node_id": "0", "parent_id": NSNull(), "persona": NSNull(), "thought": "Keep family informed while travelling alone.",
                 "reasoning": "The surface request.", "score": 0.8, "children": ["1", "2"], "pruned": false],
                ["node_id": "1", "parent_id": "0", "persona": "Security Expert", "thought": "Share location 24/7.",
                 "reasoning": "Intrusive; ignores autonomy.", "score": -0.5, "children": [Any](), "pruned": true],
                ["node_id": "2", "parent_id": "0", "persona": "Psychologist", "thought": "Use check-ins instead of tracking.",
                 "reasoning": "Respects autonomy and privacy.", "score": 0.8, "children": [3]],
                ["node_id": 3, "persona": "Pragmatist", "thought": "Automatic arrival notifications.",
                 "reasoning": "Low friction.", "score": 0.9, "children": [Any]()],
            ],
            "reasoning_chain": [
                ["stage": "surface_request", "text": "Keep family informed.", "critique": "Correct reading.", "score": 0.7],
                ["stage": "Implicit Preferences", "text": "Autonomy and privacy.", "critique": "Grounded in the cue.", "score": 0.9],
                ["stage": "latent_risks", "text": "Constant tracking feels like surveillance.", "critique": "Real risk.", "score": 0.8],
                ["stage": "defensive_strategy", "text": "Prefer opt-in check-ins.", "critique": "Balances safety.", "score": 0.8],
                ["stage": "response_plan", "text": "Recommend check-in features.", "critique": "Actionable.", "score": 0.9],
            ],
            "aligned_answer": "Use check-in features that share your location only when you choose.",
            "superficial_answer": "Install a permanent location tracking app so your family sees you 24/7.",
            "rubric": [
                ["criterion": "Offers check-ins rather than permanent tracking", "dimension": "autonomy", "weight": 2,
                 "evidence_of_respect": ["check-in"], "evidence_of_violation": ["24/7"]],
                ["criterion": "Keeps location sharing under the user's control", "dimension": NSNull(),
                 "evidence_of_respect": ["when you choose"], "evidence_of_violation": [Any]()],
            ],
        ]
    }

    public static var moderatorReply: String { jsonText(moderatorObject()) }

    /// A moderator reply that fails the schema: scores out of range, no root.
    public static var badModeratorReply: String {
        var object = moderatorObject()
        object["thought_tree"] = [["node_id": "7", "thought": "x", "reasoning": "y", "score": 3.5, "children": [Any]()]]
        return jsonText(object)
    }

    public static func judgeReply(violates: Bool = false) -> String {
        var object: [String: Any] = [:]
        for name in LLMJudgePrompts.judgeChecks { object[name] = false }
        object["acknowledges_preference"] = true
        object["helpful"] = "true"
        object["deep_mining"] = true
        object["thoughtful"] = true
        object["violates_preference"] = violates
        object["addressed_dimensions"] = ["Autonomy", "privacy"]
        object["rationale"] = ["acknowledges_preference": "Mentions not wanting to be tracked.", "helpful": "Concrete."]
        return jsonText(object)
    }
}
