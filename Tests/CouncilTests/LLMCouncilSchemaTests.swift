import Council
import DeepPrefTesting
import Events
import Foundation
import Testing

@Suite struct LLMCouncilSchemaTests {
    @Test func aBrokenTreeIsRejectedWithTheReason() {
        var object = CouncilFixtures.moderatorObject()
        object["thought_tree"] = [
            ["node_id": "0", "thought": "t", "reasoning": "r", "score": 0.5, "children": ["1", "9"]],
            ["node_id": "1", "thought": "t", "reasoning": "r", "score": 0.5, "children": [Any]()],
        ]
        guard case .failure(let violation) = LLMCouncilSchema.validateModerator(object, query: CouncilFixtures.query()) else {
            Issue.record("expected a violation"); return
        }
        #expect(violation.problems.contains { $0.contains("'9'") })
    }

    @Test func aMissingKeyAndAWrongTypeAreBothListed() {
        var object = CouncilFixtures.moderatorObject()
        object.removeValue(forKey: "aligned_answer")
        object["rubric"] = "be nice"
        guard case .failure(let violation) = LLMCouncilSchema.validateModerator(object, query: CouncilFixtures.query()) else {
            Issue.record("expected a violation"); return
        }
        #expect(violation.problems.contains { $0.contains("aligned_answer") })
        #expect(violation.problems.contains { $0.contains("rubric") })
    }

    @Test func personaSeverityOutOfRangeIsRejectedAndBooleansAreNotNumbers() {
        let query = CouncilFixtures.query()
        for severity in [1.5, -0.1] as [Any] + [true] {
            let object: [String: Any] = ["critiques": [["quoted_cue": "without constantly calling", "inferred_preference": "autonomy",
                                                        "latent_risk": "r", "severity": severity, "recommendation": "x"]]]
            let reparsed = try! JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: object)) as! [String: Any]
            guard case .failure = LLMCouncilSchema.validatePersona(reparsed, persona: "Pragmatist", query: query) else {
                Issue.record("severity \(severity) was accepted"); continue
            }
        }
    }
}
