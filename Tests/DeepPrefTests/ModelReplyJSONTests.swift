import Foundation
import Testing
import Events
import DeepPref

@Suite struct ModelReplyJSONTests {
    @Test func fencesAndSurroundingProseAreRemoved() throws {
        let fenced = "Here you go:\n```json\n{\"a\": 1, \"b\": \"}{\"}\n```\nAnything else?"
        #expect(try ModelReplyJSON.extractObject(from: fenced)["b"] as? String == "}{")
        let prose = "The answer is {\"a\": {\"nested\": [1, 2]}} as requested."
        #expect((try ModelReplyJSON.extractObject(from: prose)["a"] as? [String: Any])?["nested"] != nil)
        let escaped = #"{"q": "she said \"hi {\" there"}"#
        #expect(try ModelReplyJSON.extractObject(from: escaped)["q"] as? String == #"she said "hi {" there"#)
    }

    @Test func textWithoutAnObjectIsRejectedWithAReason() {
        for text in ["", "no json here", "{\"a\": 1", "[1, 2]", "{\"a\": tru}"] {
            #expect(throws: ModelReplyJSON.ExtractionError.self) { try ModelReplyJSON.extractObject(from: text) }
        }
    }
}

@Suite struct CueGroundingTests {
    let question = "What's the best way to let them know where I am without constantly calling?"

    @Test func exactSpansAreKept() {
        #expect(CueGrounding.locate("without constantly calling", in: [question]) == "without constantly calling")
        #expect(CueGrounding.locate("", in: [question]) == "")
    }

    @Test func looseSpansAreRepairedToTheVerbatimText() {
        #expect(CueGrounding.locate("\u{201C}Let them  know where I am\u{201D}", in: [question]) == "let them know where I am")
        #expect(CueGrounding.locate("...without constantly calling?", in: [question]) == "without constantly calling")
        #expect(CueGrounding.locate("what\u{2019}s the best way", in: [question]) == "What's the best way")
    }

    @Test func spansNotInTheTextAreNotGrounded() {
        #expect(CueGrounding.locate("I hate tracking apps", in: [question]) == nil)
        #expect(CueGrounding.locate("constantly phoning", in: [question]) == nil)
    }
}

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
