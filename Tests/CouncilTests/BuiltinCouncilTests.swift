import Council
import DeepPrefTesting
import Events
import Foundation
import Testing

@Suite struct BuiltinCouncilTests {
    @Test func councilRecoversHiddenPreferencesOnTheTestSplit() throws {
        let test = Fixture.benchmark.split("test")
        let (precision, recall) = Fixture.precisionRecall(test, try Fixture.annotate(test))
        print(String(format: "test split (%d pairs): recall %.3f precision %.3f", test.count, recall, precision))
        #expect(recall >= 0.9)
        #expect(precision >= 0.8)
    }

    @Test func councilOnThePerturbedSplitIsReported() throws {
        let perturbed = Fixture.benchmark.perturbedTest
        let (precision, recall) = Fixture.precisionRecall(perturbed, try Fixture.annotate(perturbed))
        print(String(format: "perturbed test split (%d pairs): recall %.3f precision %.3f", perturbed.count, recall, precision))
        // A floor, not a target: held-out paraphrases are never seen by the pack lint.
        #expect(recall >= 0.5)
        #expect(precision >= 0.7)
    }

    @Test func councilDoesNotOverReadDistractors() throws {
        let pairs = (Fixture.benchmark.pairs + Fixture.benchmark.perturbedTest).filter { !$0.distractors.isEmpty }
        var overRead = 0, total = 0
        for p in pairs {
            let inferred = Set(try Fixture.council.annotateNow(p.querySubmitted).inferredPreferences.map(\.dimension))
            for d in p.distractors where !p.hiddenPreferences.contains(d) {
                total += 1
                if inferred.contains(d) { overRead += 1 }
            }
        }
        print("distractors over-read: \(overRead) of \(total)")
        #expect(total > 500)
        #expect(Double(overRead) <= 0.02 * Double(total))
    }

    @Test func everyQuotedSpanOccursVerbatimInTheQueryOrPreference() throws {
        let pairs = Fixture.benchmark.split("test") + Fixture.benchmark.perturbedTest
        for p in pairs {
            let a = try Fixture.council.annotateNow(p.querySubmitted)
            #expect(a.personaCritiques.count >= 6)
            for c in a.personaCritiques {
                #expect(!c.quotedCue.isEmpty)
                #expect(p.question.contains(c.quotedCue) || p.preference.contains(c.quotedCue),
                        "\(c.persona) quoted \"\(c.quotedCue)\" not in \(p.id)")
            }
            for i in a.inferredPreferences {
                #expect(p.question.contains(i.evidence) || p.preference.contains(i.evidence))
            }
        }
    }

    @Test func annotationHasAValidTreeAndAFiveStepChain() throws {
        for p in Fixture.benchmark.split("test").prefix(60) {
            let a = try Fixture.council.annotateNow(p.querySubmitted)
            #expect(a.validationProblems().isEmpty, "\(a.validationProblems())")
            let byID = Dictionary(uniqueKeysWithValues: a.thoughtTree.map { ($0.nodeID, $0) })
            #expect(byID["0"]?.parentID == nil)
            #expect(a.thoughtTree.contains { $0.pruned })
            for n in a.thoughtTree {
                #expect((-1.0...1.0).contains(n.score) && !n.reasoning.isEmpty)
                for c in n.children { #expect(byID[c]?.parentID == n.nodeID) }
            }
            #expect(a.reasoningChain.map(\.stage) == ["surface_request", "implicit_preferences", "latent_risks",
                                                      "defensive_strategy", "response_plan"])
            #expect(a.reasoningChain.map(\.index) == [1, 2, 3, 4, 5])
            // The chain is the unpruned path, and each chosen node scores at least as high as its siblings.
            var node = byID["0"]!
            for step in a.reasoningChain.dropFirst() {
                let kids = node.children.compactMap { byID[$0] }
                let chosen = try #require(kids.first { !$0.pruned })
                #expect(chosen.thought == step.text && chosen.score == step.score)
                #expect(kids.allSatisfy { $0.score <= chosen.score })
                node = chosen
            }
            #expect(a.reasoningChain[1].score >= 0.7, "implicit-preference step should be a strong inference")
            #expect(a.rubric.contains { $0.dimension != nil })
            #expect(a.alignedAnswer != a.superficialAnswer)
        }
    }

    @Test func councilNeverReadsTheGroundTruth() throws {
        for p in Fixture.benchmark.split("test") + Fixture.benchmark.perturbedTest {
            var blank = p.querySubmitted
            blank.hiddenPreferences = []
            var wrong = p.querySubmitted
            wrong.hiddenPreferences = ["sustainability", "legal_exposure", "accessibility"]
            let a = try Fixture.council.annotateNow(p.querySubmitted)
            #expect(try Fixture.council.annotateNow(blank) == a)
            #expect(try Fixture.council.annotateNow(wrong) == a)
        }
    }

    @Test func councilHandlesArbitraryTextAndRejectsEmptyQuestions() async throws {
        let texts = ["?", "ok", "Ünïcödé 🚀🚀 text — with “curly quotes” and no request", String(repeating: "word ", count: 2000),
                     "I'm SAFE. safe? SAFE!", "\n\n  trailing spaces   \n"]
        for (i, t) in texts.enumerated() {
            let q = QuerySubmitted(queryID: "x\(i)", profile: UserProfile(profileID: "p", statedPreference: ""), question: t)
            let a = try await Fixture.council.annotate(q)
            #expect(a.validationProblems().isEmpty)
            for c in a.personaCritiques { #expect(t.contains(c.quotedCue) && !c.quotedCue.isEmpty) }
        }
        let empty = QuerySubmitted(queryID: "e", profile: UserProfile(profileID: "p", statedPreference: "x"), question: "  ")
        await #expect(throws: CouncilError.self) { _ = try await Fixture.council.annotate(empty) }
    }
}
