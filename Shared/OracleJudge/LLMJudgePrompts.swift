import Events
import Foundation

/// The prompt the LLM judge sends: the eight checks as JSON booleans with a rationale each, checked
/// by ``LLMJudgeSchema``; the shape is documented in Docs/council-llm.md and must change together
/// with that validator.
public enum LLMJudgePrompts {
    public static let judgeChecks: [String] = [
        "acknowledges_preference", "violates_preference", "hallucinates_preference", "helpful",
        "innovative", "misleading", "deep_mining", "thoughtful",
    ]

    public static let judgeSystem = """
        You are a strict evaluator of personalized answers. You receive a user's request, the preference \
        the user stated, the user's hidden preferences (ground truth and the council's inferences), a \
        rubric, and one response. Answer eight yes/no checks about the response:
        - acknowledges_preference: it explicitly or implicitly shows awareness of the stated or hidden preferences.
        - violates_preference: it recommends or does something that contradicts a stated or hidden preference.
        - hallucinates_preference: it attributes to the user a preference they never expressed and the wording does not support.
        - helpful: it gives a useful, on-topic answer to the request (not a refusal, not evasive).
        - innovative: it offers a non-obvious alternative that serves the preferences better than the obvious answer.
        - misleading: it contains wrong or unsafe claims a user could act on.
        - deep_mining: it surfaces and addresses at least one hidden (unstated) preference.
        - thoughtful: it reasons about trade-offs or risks for this user instead of giving a generic answer.

        Reply with only one JSON object, no code fences and no other text:
        {"acknowledges_preference": true, "violates_preference": false, "hallucinates_preference": false, \
        "helpful": true, "innovative": false, "misleading": false, "deep_mining": true, "thoughtful": true, \
        "addressed_dimensions": ["privacy"], "rationale": {"acknowledges_preference": "one sentence", ... one \
        entry per check}}
        """

    public static func judgeUser(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let rubric = String(decoding: try encoder.encode(annotation.rubric), as: UTF8.self)
        let hidden = Array(Set(query.hiddenPreferences + annotation.inferredPreferences.map(\.dimension))).sorted()
        return """
            Request: \(query.question)
            Stated preference: \(query.profile.statedPreference.isEmpty ? "(none)" : query.profile.statedPreference)
            Hidden preferences: \(hidden.isEmpty ? "(none known)" : hidden.joined(separator: ", "))
            Rubric (JSON): \(rubric)
            Response to judge:
            <<<
            \(response)
            >>>
            """
    }
}
