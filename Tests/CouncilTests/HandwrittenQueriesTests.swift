import Council
import DeepPref
import DeepPrefTesting
import Events
import Foundation
import Testing

/// The council on queries written the way people ask (`Data/handwritten-queries.json`).
@Suite struct HandwrittenQueriesTests {
    static func query(_ item: HandwrittenQueries.Item) -> QuerySubmitted {
        QuerySubmitted(queryID: item.id, profile: UserProfile(profileID: "handwritten", statedPreference: ""),
                       question: item.query, topic: item.topic)
    }

    static func score(_ items: [HandwrittenQueries.Item], with council: BuiltinCouncil = Fixture.fullCouncil) throws -> CouncilCalibrator.Score {
        var s = CouncilCalibrator.Score()
        for item in items {
            let truth = Set(item.preferences.map(\.dimension))
            s.add(truth: truth, inferred: Set(try council.annotateNow(query(item)).inferredPreferences.map(\.dimension)))
        }
        return s
    }

    @Test func theSituatedCouncilFindsMoreThanKeywordsOnTheHeldOutQueries() throws {
        let heldout = Fixture.handwritten.queries.filter { $0.split == "heldout" }
        let full = try Self.score(heldout), keywords = try Self.score(heldout, with: Fixture.council)
        print(String(format: "hand-written held-out (%d queries): situated recall %.3f precision %.3f; keywords only recall %.3f precision %.3f",
                     heldout.count, full.recall, full.precision, keywords.recall, keywords.precision))
        #expect(full.recall >= keywords.recall + 0.25)
        #expect(full.recall >= 0.5)
        #expect(full.precision >= 0.7)
        let dev = try Self.score(Fixture.handwritten.queries.filter { $0.split == "dev" })
        print(String(format: "hand-written dev: situated recall %.3f precision %.3f", dev.recall, dev.precision))
    }

    @Test func theSituatedCouncilKeepsTheBenchmarkCues() throws {
        let test = Fixture.benchmark.split("test")
        let (precision, recall) = Fixture.precisionRecall(test, try Fixture.annotate(test, with: Fixture.fullCouncil))
        print(String(format: "situated council, benchmark test split: recall %.3f precision %.3f", recall, precision))
        #expect(recall >= 0.9)
        #expect(precision >= 0.9)
    }

    @Test func theSituatedCouncilReadsMoreOfThePerturbedSplit() throws {
        let perturbed = Fixture.benchmark.perturbedTest
        let (precision, recall) = Fixture.precisionRecall(perturbed, try Fixture.annotate(perturbed, with: Fixture.fullCouncil))
        let (kp, kr) = Fixture.precisionRecall(perturbed, try Fixture.annotate(perturbed, with: Fixture.council))
        print(String(format: "benchmark perturbed split: situated recall %.3f precision %.3f; keywords only recall %.3f precision %.3f",
                     recall, precision, kr, kp))
        #expect(recall >= kr + 0.05)
        #expect(precision >= 0.9)
    }

    @Test func theSetIsLargeEnoughAndWellFormed() throws {
        let items = Fixture.handwritten.queries
        #expect(items.count >= 60)
        #expect(items.filter { $0.split == "heldout" }.count >= 20)
        #expect(Set(items.map(\.id)).count == items.count)
        let topics = Set(Fixture.pack.topics.map(\.name)), dimensions = Set(Fixture.pack.dimensions.map(\.name))
        #expect(Set(items.map(\.topic)) == topics)
        for item in items {
            #expect(["dev", "heldout"].contains(item.split), "\(item.id)")
            #expect(!item.preferences.isEmpty, "\(item.id)")
            for p in item.preferences {
                #expect(dimensions.contains(p.dimension), "\(item.id): \(p.dimension)")
                #expect(item.query.contains(p.span), "\(item.id): span \"\(p.span)\"")
            }
        }
    }

    /// Five consecutive words, lower-cased, punctuation dropped.
    static func fiveGrams(_ text: String) -> Set<String> {
        let words = text.lowercased().split(whereSeparator: { $0.isWhitespace }).map { word in
            String(word.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "'" })
        }.filter { !$0.isEmpty }
        guard words.count >= 5 else { return [] }
        return Set((0...(words.count - 5)).map { words[$0..<($0 + 5)].joined(separator: " ") })
    }

    static func strings(_ value: Any, into out: inout [String]) {
        if let s = value as? String { out.append(s) }
        else if let a = value as? [Any] { for v in a { strings(v, into: &out) } }
        else if let d = value as? [String: Any] { for (k, v) in d { out.append(k); strings(v, into: &out) } }
    }

    @Test func noQueryBorrowsThePacksWording() throws {
        let root = try #require(KnowledgePack.builtinDirectory)
        var texts: [String] = []
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "json" }
        #expect(files.count >= 15)
        for file in files {
            Self.strings(try JSONSerialization.jsonObject(with: Data(contentsOf: file)), into: &texts)
        }
        var pack = Set<String>()
        for t in texts { pack.formUnion(Self.fiveGrams(t)) }
        #expect(pack.count > 3000)
        for item in Fixture.handwritten.queries {
            let shared = Self.fiveGrams(item.query).intersection(pack)
            #expect(shared.isEmpty, "\(item.id) shares \(shared.sorted()) with the pack")
        }
    }

    @Test func aPreferenceFoundFromTheSituationSaysSoAndQuotesTheQuery() throws {
        var implied = 0
        for item in Fixture.handwritten.queries {
            let a = try Fixture.fullCouncil.annotateNow(Self.query(item))
            for p in a.inferredPreferences {
                #expect(item.query.contains(p.evidence), "\(item.id): evidence \"\(p.evidence)\"")
                if let s = p.impliedBy {
                    implied += 1
                    #expect(Fixture.pack.situations.situations.contains { $0.name == s })
                }
            }
        }
        print("hand-written queries: \(implied) inferences implied by a situation")
        #expect(implied > 0)
    }
}
