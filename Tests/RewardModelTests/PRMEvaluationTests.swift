import Critique
import DeepPrefTesting
import Events
import RewardModel
import Testing

@Suite struct PRMEvaluationTests {
    @Test func perfectCriticAgreesEverywhere() {
        let items = ChainVariantsTests.items.prefix(20)
        let examples = ChainVariantsTests.corpus.examples(Array(items))
        let outcomes = examples.map { CritiqueOutcome.scored($0.label, text: $0.label.text, attempts: 1) }
        let r = PRMEvaluation(examples: examples, outcomes: outcomes)
        #expect(r.pairwiseAlignedOverSuperficial == 1)
        #expect(r.pairwiseAlignedOverMixed == 1)
        #expect(r.stepSignAgreement == 1)
        #expect(r.stepSignAgreementReferences == 1)
        #expect(abs((r.spearman ?? 0) - 1) < 1e-9)
        #expect(r.parseFailureRate == 0)
    }

    @Test func malformedAndFailedAreCountedNotScored() {
        let examples = ChainVariantsTests.corpus.examples(Array(ChainVariantsTests.items.prefix(5)))
        var outcomes = examples.map { CritiqueOutcome.scored($0.label, text: $0.label.text, attempts: 1) }
        outcomes[0] = .malformed(text: "garbage", error: "unexpectedLine", attempts: 3)
        outcomes[1] = .failed("over the context")
        let r = PRMEvaluation(examples: examples, outcomes: outcomes)
        #expect(abs(r.parseFailureRate - 1 / Double(examples.count)) < 1e-12)
        #expect(abs(r.failureRate - 1 / Double(examples.count)) < 1e-12)
        // An inverted critic disagrees.
        let inverted = examples.map { e -> CritiqueOutcome in
            let flipped = CritiqueChain(stepVerdicts: e.label.stepVerdicts.map { StepVerdict(index: $0.index, critique: $0.critique, score: -$0.score) },
                                        answerVerdict: e.label.answerVerdict, finalScore: -e.label.finalScore)
            return .scored(flipped, text: flipped.text, attempts: 1)
        }
        let bad = PRMEvaluation(examples: examples, outcomes: inverted)
        #expect((bad.spearman ?? 0) < -0.9)
        #expect((bad.stepSignAgreement ?? 1) < 0.2)
    }
}
