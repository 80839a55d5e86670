import Critique
import DeepPref
import DeepPrefTesting
import Events
import Foundation
import OracleJudge
import Testing

@Suite struct StepOracleTests {
    static let oracle = StepOracle(pack: Fixture.pack)

    /// The council's reference chains are the oracle's first fixtures.
    static let references: [AnnotatedQuery] = {
        Fixture.benchmark.pairs.prefix(400).map { pair in
            let q = pair.querySubmitted
            return AnnotatedQuery(query: q, annotation: try! Fixture.council.annotateNow(q))
        }
    }()

    @Test func referenceChainsScoreAsTheirRolesSay() {
        var alignedWins = 0, negativeAlignedSteps = 0, alignedSteps = 0
        for item in Self.references {
            let a = item.annotation
            let aligned = Self.oracle.critique(item, steps: a.reasoningChain.map(\.text), answer: a.alignedAnswer)
            let superficial = Self.oracle.critique(item, steps: ["Surface request: \"\(item.query.question)\"",
                                                                 "Literal reading: the user wants only what the request says.",
                                                                 "Plan: give the generic answer only."],
                                                   answer: a.superficialAnswer)
            #expect(aligned.stepVerdicts.count == a.reasoningChain.count)
            alignedSteps += aligned.stepVerdicts.count
            for v in aligned.stepVerdicts where v.score <= 0 {
                negativeAlignedSteps += 1
                if negativeAlignedSteps <= 5 {
                    print("step oracle: aligned step scored \(v.score) (\(v.critique)): \(a.reasoningChain[v.index - 1].text)")
                }
            }
            if aligned.finalScore > superficial.finalScore {
                alignedWins += 1
            } else {
                print("step oracle: superficial not below aligned for \(item.query.queryID):\n\(aligned.text)\n\(superficial.text)\n\(a.superficialAnswer)")
            }
            // Round-trips through the strict parser.
            #expect((try? CritiqueChainParser(expectedSteps: aligned.stepVerdicts.count).parse(aligned.text)) == aligned)
        }
        print("step oracle: aligned > superficial on \(alignedWins)/\(Self.references.count); "
              + "\(negativeAlignedSteps)/\(alignedSteps) aligned steps scored ≤ 0")
        #expect(alignedWins == Self.references.count)
        #expect(negativeAlignedSteps == 0)
    }

    private func item(question: String, hidden: [String], inferred: [(String, String)] = []) -> AnnotatedQuery {
        let q = QuerySubmitted(queryID: "q", profile: UserProfile(profileID: "p", statedPreference: "I prefer text messages over phone calls."),
                               question: question, topic: "Personal Safety", hiddenPreferences: hidden)
        let annotation = CouncilAnnotation(
            queryID: "q", backend: "builtin",
            inferredPreferences: inferred.map { InferredPreference(dimension: $0.0, confidence: 0.8, evidence: $0.1) },
            personaCritiques: [], thoughtTree: [], reasoningChain: [], alignedAnswer: "", superficialAnswer: "", rubric: [])
        return AnnotatedQuery(query: q, annotation: annotation)
    }

    private func verdict(_ step: String, in item: AnnotatedQuery, before: [String] = []) -> StepVerdict {
        let answer = "Here is a plan you can follow this week, step by step, with a few options to pick from."
        return Self.oracle.critique(item, steps: before + [step], answer: answer).stepVerdicts.last!
    }

    @Test func eachStepRuleFiresAsDocumented() {
        let travel = item(question: "I'm travelling alone next month and I don't want to be tracked. How do I keep my family informed?",
                          hidden: ["privacy", "autonomy"],
                          inferred: [("privacy", "I don't want to be tracked"), ("autonomy", "travelling alone")])
        let prefs = "Implicit preferences: privacy (\"I don't want to be tracked\")."
        // Grounded preferences: 0.5 + 0.4 × coverage.
        let grounded = verdict("Implicit preferences: privacy (\"I don't want to be tracked\") and autonomy (\"travelling alone\").", in: travel)
        #expect(grounded.score == 0.9)
        #expect(grounded.critique.contains("grounds privacy and autonomy"))
        let partial = verdict(prefs, in: travel)
        #expect(partial.score == 0.7)
        #expect(partial.critique.contains("misses autonomy"))
        // A quote the query does not contain.
        #expect(verdict("Implicit preferences: budget (\"money is tight this month\").", in: travel).score == -0.5)
        // A preference nothing supports.
        let hallucinated = verdict("Implicit preferences: sustainability matters to the user here.", in: travel)
        #expect(hallucinated.score == -0.4)
        #expect(hallucinated.critique.contains("sustainability"))
        // Repetition.
        #expect(verdict(prefs, in: travel, before: [prefs]).critique.hasPrefix("repeats step 1"))
        // Keyword stuffing.
        let labels = Fixture.pack.dimensions.prefix(7).map(\.label).joined(separator: ", ")
        #expect(verdict("Implicit preferences: \(labels).", in: travel).score == -0.5)
        // A violation of a relevant preference, unless negated.
        let privacy = Fixture.pack.dimension(named: "privacy")!
        #expect(verdict("Maximal strategy: " + privacy.violateFragments[0], in: travel, before: [prefs]).score == -0.6)
        // Risks and defences of the relevant dimensions.
        #expect(verdict("Latent risks: " + privacy.latentRisks[0], in: travel, before: [prefs]).score == 0.7)
        #expect(verdict("Defensive strategy: " + privacy.defensiveStrategies[0], in: travel, before: [prefs]).score == 0.7)
        // Before any preference, a defence is out of order.
        let early = verdict("Defensive strategy: " + privacy.defensiveStrategies[0], in: travel)
        #expect(early.score == 0.3)
        #expect(early.critique.hasPrefix("out of order"))
        // Plans.
        #expect(verdict("Plan: answer the question, honour privacy and autonomy.", in: travel, before: [prefs]).score == 0.9)
        #expect(verdict("Plan: give the generic answer only.", in: travel, before: [prefs]).score == 0.1)
        // Literal reading, surface, vague.
        #expect(verdict("Literal reading: the user wants only what the request says.", in: travel).score == 0.1)
        #expect(verdict("Surface request: \"How do I keep my family informed?\"", in: travel).score == 0.5)
        #expect(verdict("Think carefully about what the user really needs.", in: travel).score == 0.2)
        // With nothing hidden, the literal reading is the honest one.
        let plain = item(question: "How do I boil an egg?", hidden: [])
        #expect(verdict("Literal reading: the user wants only what the request says.", in: plain).score == 0.5)
    }

    @Test func answerVerdictsCatchTruncationAndContradiction() throws {
        let item = Self.references[0]
        let a = item.annotation
        let full = Self.oracle.critique(item, steps: a.reasoningChain.map(\.text), answer: a.alignedAnswer)
        var cut = a.alignedAnswer.split(separator: " ").prefix(14).joined(separator: " ")
        while let l = cut.last, ".!?".contains(l) { cut.removeLast() }
        let truncated = Self.oracle.critique(item, steps: a.reasoningChain.map(\.text), answer: cut)
        #expect(truncated.answerVerdict.critique.contains("stops mid-sentence"))
        #expect(truncated.finalScore < full.finalScore)
        let contradicting = Self.oracle.critique(item, steps: a.reasoningChain.map(\.text), answer: a.superficialAnswer)
        #expect(contradicting.answerVerdict.score < 0)
        #expect(contradicting.finalScore < full.finalScore)
        #expect(Self.oracle.critique(item, steps: [], answer: "").answerVerdict.score == -1)
    }

    @Test func formatGateRejectsWhatItDocuments() {
        let gate = FormatGate(pack: Fixture.pack)
        let a = Self.references[0].annotation
        #expect(gate.check(steps: a.reasoningChain.map(\.text), answer: a.alignedAnswer) == .passed)
        #expect(gate.check(steps: ["Step."], answer: "Too short.") != .passed)
        #expect(gate.check(steps: Array(repeating: "x", count: 1).enumerated().map { "step \($0.offset)" } + ["", "y"],
                           answer: a.alignedAnswer) != .passed)
        #expect(gate.check(steps: (1...13).map { "Step number \($0) says something new." }, answer: a.alignedAnswer) != .passed)
        #expect(gate.check(steps: ["Same step here.", "Same  step here."], answer: a.alignedAnswer)
                == .rejected("format gate: step 2 repeats step 1"))
        let labels = Fixture.pack.dimensions.prefix(8).map(\.label).joined(separator: ", ")
        #expect(gate.check(steps: ["Implicit preferences: \(labels)."], answer: a.alignedAnswer) != .passed)
        let markers = Fixture.pack.dimensions.prefix(8).compactMap(\.respectMarkers.first).joined(separator: ", ")
        #expect(gate.check(steps: [], answer: a.alignedAnswer + " " + markers + ".") != .passed)
        let sentence = "Call the office before noon on Monday."
        #expect(gate.check(steps: [], answer: a.alignedAnswer + " " + Array(repeating: sentence, count: 3).joined(separator: " ")) != .passed)
    }
}
