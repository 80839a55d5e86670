import Council
import DeepPref
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

    @Test func aNestedTreeIsFlattenedWithIdsParentsAndTheBestPath() throws {
        var object = CouncilFixtures.moderatorObject()
        object["thought_tree"] = [
            "persona": NSNull(), "thought": "Keep family informed.", "reasoning": "The surface request.", "score": 0.8,
            "children": [
                ["persona": "Security Expert", "thought": "Share location 24/7.", "reasoning": "Intrusive.", "score": -0.5,
                 "children": [Any]()],
                ["persona": "Psychologist", "thought": "Use check-ins.", "reasoning": "Respects autonomy.", "score": 0.8,
                 "children": [["persona": NSNull(), "thought": "Arrival notifications.", "reasoning": "Low friction.", "score": 0.9]]],
            ],
        ] as [String: Any]

        let reply = try LLMCouncilSchema.validateModerator(object, query: CouncilFixtures.query()).get()

        let tree = reply.thoughtTree
        #expect(tree.map(\.nodeID) == ["0", "1", "2", "3"])
        #expect(tree.map(\.parentID) == [nil, "0", "0", "2"])
        #expect(tree[0].children == ["1", "2"])
        #expect(tree[2].children == ["3"])
        #expect(tree.map(\.pruned) == [false, true, false, false])   // best path 0 → 2 → 3
        #expect(tree[1].persona == "Security Expert")
    }

    @Test func aNestedNodeThatIsNotAnObjectIsReported() {
        var object = CouncilFixtures.moderatorObject()
        object["thought_tree"] = ["thought": "t", "reasoning": "r", "score": 0.5, "children": ["not a node"]] as [String: Any]
        guard case .failure(let violation) = LLMCouncilSchema.validateModerator(object, query: CouncilFixtures.query()) else {
            Issue.record("expected a violation"); return
        }
        #expect(violation.problems.contains { $0.contains("must be an object") }, "\(violation)")
    }

    @Test func theOutputSchemasAreStrictJSONWithBoundedArrays() throws {
        for format in [LLMCouncilSchema.personaOutput(), LLMCouncilSchema.moderatorOutput(),
                       LLMCouncilSchema.personaOutput(.compact), LLMCouncilSchema.moderatorOutput(.compact)] {
            guard case let .jsonSchema(_, schema, strict) = format else { Issue.record("not a json_schema"); continue }
            #expect(strict)
            let text = schema.jsonText
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(parsed["additionalProperties"] as? Bool == false)
            // Every array is bounded, or a small model repeats an item until max_tokens.
            var arrays = 0
            var unbounded = 0
            func walk(_ value: Any) {
                if let object = value as? [String: Any] {
                    if object["type"] as? String == "array" {
                        arrays += 1
                        if object["maxItems"] == nil { unbounded += 1 }
                    }
                    object.values.forEach(walk)
                } else if let list = value as? [Any] {
                    list.forEach(walk)
                }
            }
            walk(parsed)
            #expect(arrays > 0)
            #expect(unbounded == 0)
        }
    }

    @Test func compactLimitsAskForATwoLevelTreeAndOneCritique() throws {
        guard case let .jsonSchema(_, moderator, _) = LLMCouncilSchema.moderatorOutput(.compact),
              case let .jsonSchema(_, persona, _) = LLMCouncilSchema.personaOutput(.compact) else {
            Issue.record("not json_schema"); return
        }
        let tree = try #require(((try JSONSerialization.jsonObject(with: Data(moderator.jsonText.utf8)) as? [String: Any])?["properties"]
            as? [String: Any])?["thought_tree"] as? [String: Any])
        let children = try #require((tree["properties"] as? [String: Any])?["children"] as? [String: Any])
        #expect(children["maxItems"] as? Int == 2)
        let child = try #require(children["items"] as? [String: Any])
        #expect((child["properties"] as? [String: Any])?["children"] == nil)   // leaves
        #expect(persona.jsonText.contains("\"maxItems\":1"))
        #expect(LLMCouncilOutputLimits.compact.treeNodes == 3)
        #expect(LLMCouncilOutputLimits.standard.treeNodes == 10)
        let prompt = LLMCouncilPrompts.moderatorSystem(dimensions: ["autonomy"], limits: .compact)
        #expect(prompt.contains("The root has at most 2 children, which have no children."))
        #expect(LLMCouncilPrompts.personaSystem(CouncilPersona.standard[0], dimensions: [], limits: .compact)
            .contains("Give at most 1 critique,"))
    }
}
