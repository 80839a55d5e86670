import Critique
import Events
import Foundation
import LanguageModel
import RewardModel
import Testing

@Suite struct PRMFormatTests {
    static let examples = PRMCriticTests.examples
    static let tokenizer: Tokenizer = {
        let trainer = try! PRMTrainer(config: PRMCriticTests.tinyConfig(.critique))
        return try! trainer.trainTokenizer(on: examples)
    }()

    @Test func interleavedSequenceFeedsTheResponseAndTrainsOnTheCritiques() throws {
        let format = try PRMFormat(tokenizer: Self.tokenizer, target: .critique, layout: .interleaved)
        for e in Self.examples.prefix(12) {
            let (tokens, mask) = format.trainingSequence(e)
            #expect(tokens.count == mask.count)
            let lines = ResponseLayout.lines(steps: e.variant.steps, answer: e.variant.answer)
            let verdicts = e.label.stepVerdicts.map { "\($0.critique) Score: \(CritiqueChain.format($0.score))" }
                + ["\(e.label.answerVerdict.critique) Score: \(CritiqueChain.format(e.label.answerVerdict.score))"]
            var expected = "<|bos|>" + PRMFormat.headerText(profile: e.profile, question: e.question)
            for (line, verdict) in zip(lines, verdicts) { expected += line + "\n<|critique|>" + verdict + "\n" }
            expected += "Final score: \(CritiqueChain.format(e.label.finalScore))<|eos|>"
            #expect(Self.tokenizer.decode(tokens) == expected)
            // Trained: the critiques with their scores, the final number and eos; nothing of the response.
            let trained = Self.tokenizer.decode(zip(tokens, mask).filter(\.1).map(\.0))
            #expect(trained == verdicts.map { $0 + "\n" }.joined() + CritiqueChain.format(e.label.finalScore) + "<|eos|>")
            #expect(format.fedTokenCount(e.request) == mask.filter { !$0 }.count)
        }
        // The scalar target always reads the whole response first.
        #expect(try PRMFormat(tokenizer: Self.tokenizer, target: .scalar, layout: .interleaved).layout == .afterResponse)
    }

    @Test func interleavedCriticJudgesEveryStepOrReportsMalformed() throws {
        var config = PRMCriticTests.tinyConfig(.critique)
        config.layout = .interleaved
        let trainer = try PRMTrainer(config: config)
        let result = try trainer.train(train: Self.examples + Self.examples, validation: [], tokenizer: Self.tokenizer)
        let bytes = result.model.checkpointBytes(tokenizer: Self.tokenizer)
        let critic = try PRMCritic.load(checkpointID: "tiny-il", safetensors: bytes, configJSON: "{\"training\":\(config.json)}",
                                        maxAttempts: 2, finalScore: .generated)
        #expect(critic.format.layout == .interleaved)
        let requests = Self.examples.prefix(4).map(\.request)
        for (request, outcome) in zip(requests, try critic.critiqueNow(requests)) {
            switch outcome {
            case let .scored(chain, text, _):
                #expect(chain.stepVerdicts.count == request.steps.count)
                #expect(try CritiqueChainParser(expectedSteps: request.steps.count).parse(text) == chain)
            case let .malformed(text, error, attempts):
                #expect(attempts == 2 && !error.isEmpty)
                // The labels are fed, never generated: whatever the model wrote sits after them.
                #expect(text.hasPrefix("Step 1: ") || (request.steps.isEmpty && text.hasPrefix("Answer: ")))
            case let .failed(reason):
                Issue.record("unexpected failure: \(reason)")
            }
        }
    }

    @Test func storedConfigurationsKeepTheirLayout() throws {
        // Stored before the layout existed: after the response.
        let old = try JSONDecoder().decode(PRMTrainingConfig.self, from: Data("{\"target\":\"critique\",\"epochs\":3}".utf8))
        #expect(old.layout == .afterResponse && old.epochs == 3 && old.batchSize == PRMTrainingConfig().batchSize)
        #expect(PRMTrainingConfig.layout(inConfigJSON: "{\"training\":{\"target\":\"critique\"}}") == .afterResponse)
        // New runs interleave; the scalar target never does.
        let fresh = PRMTrainingConfig()
        #expect(fresh.layout == .interleaved)
        let roundTrip = try JSONDecoder().decode(PRMTrainingConfig.self, from: Data(fresh.json.utf8))
        #expect(roundTrip == fresh)
        #expect(PRMTrainingConfig.layout(inConfigJSON: "{\"training\":\(fresh.json)}") == .interleaved)
        #expect(PRMTrainingConfig.layout(inConfigJSON: "{\"training\":{\"target\":\"scalar\",\"layout\":\"interleaved\"}}") == .afterResponse)
        #expect(PRMTrainingConfig.layout(inConfigJSON: "not json") == .afterResponse)
    }

    @Test func aggregatedFinalScoreIsTheOraclesRuleOnTheModelsVerdicts() {
        // The oracle's own final scores are this aggregation (rounded), except where the format gate caps them.
        for e in Self.examples where !e.label.answerVerdict.critique.hasPrefix("format gate") {
            let a = CritiqueChain.aggregateFinalScore(stepScores: e.label.stepVerdicts.map(\.score), answerScore: e.label.answerVerdict.score)
            #expect(abs((a * 20).rounded() / 20 - e.label.finalScore) < 1e-9, "\(e.variant.origin): \(a) vs \(e.label.finalScore)")
        }
        let steps = [StepVerdict(index: 1, critique: "grounds privacy.", score: 0.9),
                     StepVerdict(index: 2, critique: "plans.", score: 0.5)]
        let chain = CritiqueChain(stepVerdicts: steps, answerVerdict: AnswerVerdict(critique: "follows it.", score: 0.8), finalScore: -1)
        #expect(abs(PRMCritic.aggregated(chain).finalScore - 0.765) < 0.0051)   // 0.35 × 0.7 + 0.65 × 0.8, to 2 decimals
        var violating = chain
        violating.stepVerdicts[1].score = -0.6
        #expect(PRMCritic.aggregated(violating).finalScore == 0.2)
        var gated = chain
        gated.answerVerdict = AnswerVerdict(critique: "format gate: a sentence appears 3 times.", score: -0.8)
        #expect(PRMCritic.aggregated(gated).finalScore == -0.8)
        #expect(CritiqueChain.aggregateFinalScore(stepScores: [], answerScore: 0.4) == 0.4)
    }
}
