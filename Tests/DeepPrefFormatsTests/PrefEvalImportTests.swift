import Council
import DeepPrefFormats
import DeepPrefTesting
import Foundation
import Testing

@Suite struct PrefEvalImportTests {
    /// The mapping as documented in Docs/deeppref.md, restated here so a changed pack fails the test.
    static let expected: [String: String] = [
        "education_learning_styles": "Personal Growth", "education_resources": "Personal Growth",
        "entertain_games": "Entertainment Planning", "entertain_music_book": "Entertainment Planning",
        "entertain_shows": "Entertainment Planning", "entertain_sports": "Entertainment Planning",
        "lifestyle_beauty": "Shopping Assistance", "lifestyle_dietary": "Home Cooking",
        "lifestyle_fit": "Personal Growth", "lifestyle_health": "Medical Care", "pet_ownership": "Family Care",
        "professional_work_location_style": "Moving & Relocation", "shop_fashion": "Shopping Assistance",
        "shop_home": "Shopping Assistance", "shop_motors": "Shopping Assistance", "shop_technology": "Digital Services",
        "travel_activities": "Entertainment Planning", "travel_hotel": "Local Services",
        "travel_restaurant": "Local Services", "travel_transportation": "Local Services",
    ]

    @Test func allExplicitPairsImportWithTheirTopicAndTheCouncilAnnotatesEveryOne() throws {
        let pairs = try PrefEvalExplicitImporter(pack: Fixture.pack).importDirectory(Fixture.prefevalDirectory)
        #expect(pairs.count == 1000)
        #expect(Set(pairs.map(\.id)).count == 1000)
        for p in pairs {
            let stem = String(p.source.dropFirst("prefeval-explicit/".count))
            #expect(p.topic == Self.expected[stem], "\(p.id)")
            #expect(!p.question.isEmpty && !p.preference.isEmpty)
        }
        var covered = 0, failures = 0
        var perDimension: [String: Int] = [:]
        for p in pairs {
            do {
                let a = try Fixture.council.annotateNow(p.querySubmitted)
                #expect(a.validationProblems().isEmpty)
                for c in a.personaCritiques {
                    #expect(p.question.contains(c.quotedCue) || p.preference.contains(c.quotedCue))
                }
                if !a.inferredPreferences.isEmpty { covered += 1 }
                for i in a.inferredPreferences { perDimension[i.dimension, default: 0] += 1 }
            } catch {
                failures += 1
            }
        }
        print("PrefEval explicit: \(pairs.count) imported, \(failures) annotation errors, \(covered) with ≥ 1 inferred dimension")
        print("PrefEval inferred dimensions: " + perDimension.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(failures == 0)
    }

    @Test func anUnmappedFileIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prefeval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"[{"preference":"p","question":"q","explanation":"e"}]"#.utf8).write(to: dir.appendingPathComponent("space_travel.json"))
        #expect(throws: PairFileError.self) { _ = try PrefEvalExplicitImporter(pack: Fixture.pack).importDirectory(dir) }
    }
}
