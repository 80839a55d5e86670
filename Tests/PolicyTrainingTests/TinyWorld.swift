import Critique
import DeepPrefTesting
import Events
import Foundation
import LanguageModel
import OracleJudge
import PolicyOptimization
import PolicyTraining

/// A small world for trainer tests: short annotated queries (`Fixture.shortItems`) and a tiny
/// policy warm-started on them (trained once per test process).
enum TinyWorld {
    static let items: [AnnotatedQuery] = Fixture.shortItems(48)

    static var config: PolicyTrainingConfig {
        var c = PolicyTrainingConfig()
        c.model = TransformerConfig(vocabularySize: 512, contextLength: 320, layerCount: 1, headCount: 2, channelCount: 48)
        c.tokenizerItems = 48
        c.sftEpochs = 60
        c.sftBatchSize = 8
        c.sftLearningRate = 3e-3
        c.groupSize = 4
        c.promptsPerStep = 3
        c.maxNewTokens = 96
        c.microBatch = 6
        c.evalPrompts = 6
        c.learningRate = 3e-4
        c.hackingGuard = HackingGuard.Configuration(oracleShare: 0.5, gapThreshold: 0.3, patience: 2, maxRefreshes: 1)
        return c
    }

    static let warmStart: PolicySFT.Result = try! PolicySFT.train(train: items, validation: [], config: config)

    static func trainer(_ config: PolicyTrainingConfig = config, run: String = "tiny") throws -> PolicyRLTrainer {
        let start = warmStart
        let policy = start.model.copy()
        return try PolicyRLTrainer(config: config, runID: run, tokenizer: start.tokenizer, policy: policy,
                                   reference: start.model, optimizer: policy.makeOptimizer(),
                                   state: TrainerState(hackingGuard: HackingGuard(config.hackingGuard), warmStartID: "tiny-sft",
                                                       seed: config.seed),
                                   trainItems: items, evalItems: Array(items.suffix(6)), pack: Fixture.pack)
    }

    /// The step oracle in process.
    static var oracle: BackendScorer {
        let byID = Dictionary(items.map { ($0.query.queryID, $0) }, uniquingKeysWith: { a, _ in a })
        return BackendScorer(OracleCritic(pack: Fixture.pack) { ids in byID.filter { ids.contains($0.key) } })
    }
}

/// A critic that can be gamed: it rates every response highly, whatever it says.
final class GullibleScorer: CritiqueScorer {
    var calls = 0
    func score(_ requests: [CritiqueRequested]) async throws -> ScoringReport {
        calls += 1
        var scores: [String: SampleScore] = [:]
        for r in requests { scores[r.requestID] = .scored(final: 0.95, steps: r.steps.map { _ in 0.9 }, answer: 0.9) }
        return ScoringReport(scores: scores)
    }
}

/// A critic that fails or garbles some requests.
final class FlakyScorer: CritiqueScorer {
    let inner: any CritiqueScorer
    init(_ inner: any CritiqueScorer) { self.inner = inner }
    func score(_ requests: [CritiqueRequested]) async throws -> ScoringReport {
        var report = try await inner.score(requests)
        for (i, r) in requests.enumerated() {
            if i % 3 == 0 { report.scores[r.requestID] = .failed("the endpoint gave up") }
            if i % 3 == 1 { report.scores[r.requestID] = .malformed("no final score") }
        }
        return report
    }
}
