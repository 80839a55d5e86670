import Critique
import DeepPrefTesting
import Events
import Foundation
import LanguageModel
import RewardModel
import Testing

@Suite struct PRMCriticTests {
    static let examples = ChainVariantsTests.corpus.examples(Array(ChainVariantsTests.items.prefix(6)))

    static func tinyConfig(_ target: PRMTarget) -> PRMTrainingConfig {
        var c = PRMTrainingConfig()
        c.target = target
        c.model = TransformerConfig(vocabularySize: 600, contextLength: 768, layerCount: 1, headCount: 2, channelCount: 32)
        c.epochs = 1
        c.batchSize = 4
        c.warmupSteps = 2
        c.validationGenerations = 2
        c.tokenizerSampleBytes = 200_000
        c.threads = 1
        return c
    }

    @Test func trainsStoresLoadsAndNeverScoresWhatDoesNotParse() throws {
        let trainer = try PRMTrainer(config: Self.tinyConfig(.critique))
        let tokenizer = try trainer.trainTokenizer(on: Self.examples)
        var losses: [Float] = []
        let result = try trainer.train(train: Self.examples + Self.examples, validation: Array(Self.examples.prefix(4)),
                                       tokenizer: tokenizer, progress: { losses.append($0.loss) })
        #expect(result.steps > 0)
        #expect(result.metrics["validation_loss"]?.isFinite == true)
        let bytes = result.model.checkpointBytes(tokenizer: tokenizer)
        let critic = try PRMCritic.load(checkpointID: "tiny", safetensors: bytes,
                                        configJSON: "{\"training\":\(Self.tinyConfig(.critique).json)}", maxAttempts: 2)
        #expect(critic.name == "prm")
        let outcomes = try critic.critiqueNow(Self.examples.prefix(3).map(\.request))
        for o in outcomes {
            switch o {
            case let .scored(chain, text, attempts):
                // Whatever the barely trained model wrote, a scored outcome is a chain that parsed.
                #expect(try CritiqueChainParser(expectedSteps: chain.stepVerdicts.count).parse(text) == chain)
                #expect((1...2).contains(attempts))
            case let .malformed(_, error, attempts):
                #expect(attempts == 2)
                #expect(!error.isEmpty)
            case .failed(let reason):
                Issue.record("unexpected failure: \(reason)")
            }
        }
        // Over the context, and empty: failed with a reason, without generating.
        var long = Self.examples[0].request
        long.answer = String(repeating: "word ", count: 3000)
        var empty = Self.examples[0].request
        empty.steps = []
        empty.answer = " "
        let refused = try critic.critiqueNow([long, empty])
        guard case let .failed(r0) = refused[0], case let .failed(r1) = refused[1] else {
            Issue.record("expected failures, got \(refused)")
            return
        }
        #expect(r0.contains("context"))
        #expect(r1.contains("neither steps nor an answer"))
    }

    @Test func brokenCheckpointsAreClearErrors() {
        #expect(throws: (any Error).self) {
            _ = try PRMCritic.load(checkpointID: "junk", safetensors: Array("not a checkpoint".utf8), configJSON: "{}")
        }
    }

    @Test func scalarTargetWritesOnlyTheFinalScore() throws {
        let config = Self.tinyConfig(.scalar)
        let trainer = try PRMTrainer(config: config)
        let tokenizer = try trainer.trainTokenizer(on: Self.examples)
        let format = try PRMFormat(tokenizer: tokenizer, target: .scalar)
        let sequence = format.trainingSequence(Self.examples[0])
        let target = tokenizer.decode(zip(sequence.tokens, sequence.mask).filter(\.1).map(\.0).dropLast())
        #expect(target == "Final score: \(CritiqueChain.format(Self.examples[0].label.finalScore))")
        let result = try trainer.train(train: Self.examples, validation: [], tokenizer: tokenizer)
        let critic = PRMCritic(model: result.model, format: format, checkpointID: "s")
        #expect(critic.name == "scalar")
        #expect(try critic.parse("Final score: -0.35", steps: 4).finalScore == -0.35)
        #expect(throws: CritiqueChainParseError.self) { try critic.parse("Final score: 1.5", steps: 4) }
        #expect(throws: CritiqueChainParseError.self) { try critic.parse("Score: 0.2", steps: 4) }
    }
}
