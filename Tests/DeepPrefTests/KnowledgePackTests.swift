import DeepPref
import DeepPrefTesting
import Foundation
import Testing

@Suite struct KnowledgePackTests {
    @Test func packHasThePublishedTopicsAndEnoughDimensionsAndPersonas() {
        let pack = Fixture.pack
        let published = ["Communication Help", "Digital Services", "Entertainment Planning", "Family Care", "Gift Giving",
                         "Home Cooking", "Home Maintenance", "Local Services", "Medical Care", "Moving & Relocation",
                         "Personal Documents", "Personal Finance", "Personal Growth", "Personal Safety",
                         "Relationship Advice", "Seasonal Tasks", "Shopping Assistance", "Smart Home", "Time Management",
                         "Weather Planning"]
        #expect(pack.topics.map(\.name).sorted() == published)
        #expect(pack.dimensions.count >= 12)
        let names = Set(pack.personas.map(\.name))
        for p in ["Psychologist", "Security Expert", "Sociologist", "Pragmatist", "Educator", "Devil's Advocate"] {
            #expect(names.contains(p), "missing persona \(p)")
        }
        #expect(!pack.moderator.isEmpty)
    }

    /// Every builder cue is read as its own dimension and nothing else; scenario text, stated
    /// preferences and distractor sentences are read as nothing. Held-out cues are not linted: they
    /// measure generalisation on the perturbed split.
    @Test func cuesTriggerExactlyTheirDimensionAndEverythingElseTriggersNothing() {
        let pack = Fixture.pack
        let detector = CueDetector(pack: pack)
        var problems: [String] = []
        for d in pack.dimensions {
            for cue in d.cueSentences + d.cueClauses {
                let found = detector.inferredDimensions(in: cue)
                if found != [d.name] { problems.append("\(d.name) cue \"\(cue)\" → \(found)") }
            }
        }
        for t in pack.topics {
            var texts = t.statedPreferences.map(\.text) + t.surfaceAnswers
            for template in t.contexts + t.requests {
                for (slot, values) in t.fillers where template.contains("{\(slot)}") {
                    for v in values { texts.append(template.replacingOccurrences(of: "{\(slot)}", with: v)) }
                }
                texts.append(template)
            }
            for text in texts {
                let found = detector.inferredDimensions(in: text)
                if !found.isEmpty { problems.append("\(t.name): \"\(text)\" → \(found)") }
            }
        }
        for d in pack.distractors {
            for s in d.sentences {
                let found = detector.inferredDimensions(in: s)
                if !found.isEmpty { problems.append("distractor \(d.id): \"\(s)\" → \(found)") }
            }
        }
        for p in problems { print("lint: \(p)") }
        #expect(problems.isEmpty, "\(problems.count) pack lint problems")
    }

    @Test func brokenPacksFailWithFileAndField() throws {
        let source = try #require(KnowledgePack.builtinDirectory)
        func corrupt(_ file: String, _ edit: (inout [String: Any]) -> Void) throws -> KnowledgePackError? {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pack-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: source, to: dir)
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent(file)
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
            do {
                _ = try KnowledgePack.load(from: dir)
                return nil
            } catch let e as KnowledgePackError {
                return e
            }
        }
        let missing = try corrupt("dimensions/privacy.json") { $0.removeValue(forKey: "cue_sentences") }
        #expect(missing?.file == "dimensions/privacy.json")
        #expect(missing?.field == "cue_sentences")
        #expect(missing?.code == .malformedJSON)

        let badFragment = try corrupt("dimensions/budget.json") { $0["respect_fragments"] = ["Spend whatever you like.", "Buy it."] }
        #expect(badFragment?.file == "dimensions/budget.json")
        #expect(badFragment?.field == "respect_fragments[0]")

        let badReference = try corrupt("topics.json") { json in
            var topics = json["topics"] as! [[String: Any]]
            topics[2]["dimensions"] = ["privacy", "budget", "telepathy"]
            json["topics"] = topics
        }
        #expect(badReference?.file == "topics.json")
        #expect(badReference?.field == "topics[2].dimensions[2]")
        #expect(badReference?.code == .unknownReference)
        #expect(badReference?.description.contains("telepathy") == true)

        let badSeverity = try corrupt("dimensions/safety.json") { $0["severity"] = 3.5 }
        #expect(badSeverity?.field == "severity")

        let wrongType = try corrupt("distractors.json") { json in
            var list = json["distractors"] as! [[String: Any]]
            list[1]["sentences"] = "not a list"
            json["distractors"] = list
        }
        #expect(wrongType?.file == "distractors.json")
        #expect(wrongType?.field.hasPrefix("distractors[1].sentences") == true)
    }
}
