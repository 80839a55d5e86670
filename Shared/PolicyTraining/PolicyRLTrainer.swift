import Critique
import DeepPref
import Events
import Foundation
import LanguageModel
import OracleJudge
import PolicyOptimization
import Tensor

/// The online RL loop's step (DESIGN §7): draw prompts, sample G responses each with the KV cache,
/// gate the format, have the critic score the rest, compute advantages, update with token-level
/// PPO-clip and a KL term to the frozen reference, and report the step's figures.
///
/// Every random choice of step s follows from the run seed and s (prompt order, sampling seed), so
/// a run resumed from a checkpoint (weights, optimizer moments, ``TrainerState``) repeats the
/// uninterrupted run's steps bit for bit, given the same critic replies.
public final class PolicyRLTrainer {
    public let config: PolicyTrainingConfig
    public let runID: String
    public let format: PolicyFormat
    public let policy: Transformer
    public let reference: Transformer
    public let optimizer: AdamW
    public private(set) var state: TrainerState
    public let trainItems: [AnnotatedQuery]
    public let evalItems: [AnnotatedQuery]

    private let estimator: AdvantageEstimator
    private let aggregation: LossAggregation
    private let objective: ClippedObjective
    private let evaluation: PolicyEvaluation
    private var oracle: StepOracle { evaluation.oracle }
    private var order: PromptOrder

    /// Metric names whose values depend on wall-clock time or message timing, not on the data;
    /// everything else a step reports is a function of the seed and the critic's replies.
    public static let timingMetrics: Set<String> = [
        "sampling_s", "critique_s", "update_s", "step_s", "tokens_per_s", "critique_p50_ms", "critique_p99_ms",
        "critique_resends", "replies_unknown", "replies_duplicate",
    ]

    /// A trainer starting at `state` (step 0 for a new run). `policy` and `optimizer` carry the
    /// weights and moments of that state; `reference` is the warm start, never updated.
    public init(config: PolicyTrainingConfig, runID: String, tokenizer: Tokenizer, policy: Transformer,
                reference: Transformer, optimizer: AdamW, state: TrainerState, trainItems: [AnnotatedQuery],
                evalItems: [AnnotatedQuery], pack: KnowledgePack) throws {
        try config.validate()
        guard !trainItems.isEmpty else { throw PolicyTrainingError.noData("no train-split annotated queries to draw prompts from") }
        guard policy.config == reference.config else {
            throw PolicyTrainingError.invalidConfiguration("the policy and the reference have different shapes")
        }
        self.config = config
        self.runID = runID
        let format = try PolicyFormat(tokenizer: tokenizer)
        self.format = format
        self.policy = policy
        self.reference = reference
        self.optimizer = optimizer
        self.state = state
        // A prompt must leave room for a response in the context.
        let evaluation = PolicyEvaluation(format: format, pack: pack)
        self.evaluation = evaluation
        self.trainItems = evaluation.fitting(trainItems, contextLength: config.model.contextLength)
        self.evalItems = Array(evaluation.fitting(evalItems, contextLength: config.model.contextLength).prefix(config.evalPrompts))
        guard !self.trainItems.isEmpty else {
            throw PolicyTrainingError.noData("no train-split prompt leaves 32 tokens of room in the context of \(config.model.contextLength)")
        }
        estimator = config.advantageEstimator!
        aggregation = config.lossAggregation!
        objective = config.objective
        order = PromptOrder(count: self.trainItems.count, seed: config.seed)
    }

    /// One stored policy sample.
    public struct Sample: Sendable, Equatable {
        public var responseID: String
        public var queryID: String
        public var text: String
        public var steps: [String]
        public var answer: String
        /// The reward it got (nil when it left its group: failed or malformed critique).
        public var reward: Double?
    }

    /// What one step did.
    public struct StepResult: Sendable {
        public var step: Int
        public var metrics: [String: Double]
        public var samples: [Sample]
        /// The guard's decision after this step.
        public var decision: HackingGuard.Decision
    }

    /// The id of the checkpoint a step's weights are stored under.
    /// Step 0 is the warm start.
    public func checkpointID(step: Int) -> String { step == 0 ? state.warmStartID : "\(runID)-step-\(step)" }

    // MARK: - One step

    public func step(scorer: any CritiqueScorer, log: (String) -> Void = { _ in }) async throws -> StepResult {
        let s = state.step + 1
        let seed = TrainerState.samplingSeed(seed: config.seed, step: s)
        let G = config.groupSize, P = config.promptsPerStep
        let items = order.indices(cursor: state.cursor, count: P).map { trainItems[$0] }
        let started = ContinuousClock.now

        // Sample G responses per prompt.
        let prompts = items.flatMap { item in
            Array(repeating: format.promptTokens(profile: item.query.profile, question: item.query.question), count: G)
        }
        let generated = try sample(prompts: prompts, seed: seed)
        let sampled = ContinuousClock.now

        // Gate, then ask the critic about the rest.
        var candidates: [Candidate] = []
        var requests: [CritiqueRequested] = []
        for (j, g) in generated.enumerated() {
            let item = items[j / G]
            var c = Candidate(item: item, tokens: g.tokens, text: format.text(g.tokens))
            c.responseID = "\(runID)/\(s)/\(j)"
            if let parsed = ResponseLayout.parse(c.text), let parts = format.tokenParts(g.tokens), parts.steps == parsed.steps.count {
                c.steps = parsed.steps
                c.answer = parsed.answer
                c.tokenParts = parts.parts
                if case let .rejected(reason) = oracle.gate.check(steps: parsed.steps, answer: parsed.answer) {
                    c.gated = reason
                } else {
                    let id = "\(c.responseID)#\(FNV1a.hex(c.text.utf8))"
                    c.requestID = id
                    requests.append(CritiqueRequested(
                        requestID: id, queryID: item.query.queryID, profile: item.query.profile,
                        question: item.query.question, responseID: c.responseID, steps: parsed.steps, answer: parsed.answer,
                        policyCheckpointID: checkpointID(step: state.step), criticCheckpointID: state.criticCheckpointID))
                }
            } else {
                c.gated = "format gate: the response's step numbers do not run 1, 2, ..."
            }
            candidates.append(c)
        }
        let report = requests.isEmpty ? ScoringReport(scores: [:]) : try await scorer.score(requests)
        let critiqued = ContinuousClock.now

        // Scores, the oracle share and the PRM–oracle gap.
        var failed = 0, malformed = 0
        for i in candidates.indices {
            if candidates[i].gated != nil {
                candidates[i].final = FormatGate.rejectedScore
                candidates[i].partScores = [FormatGate.rejectedScore]
                candidates[i].tokenParts = [Int](repeating: 0, count: candidates[i].tokens.count)
                continue
            }
            guard let id = candidates[i].requestID, let score = report.scores[id] else {
                throw PolicyTrainingError.critiqueTimeout("the scorer returned no score for request \(candidates[i].requestID ?? "?")")
            }
            switch score {
            case let .scored(final, steps, answer):
                candidates[i].final = final
                candidates[i].partScores = steps + [answer]
            case .malformed: malformed += 1
            case .failed: failed += 1
            }
        }
        let scoredIndices = candidates.indices.filter { candidates[$0].requestID != nil && candidates[$0].final != nil }
        var pick = SeededGenerator(seed: seed ^ 0x0AC1E)
        let oracleIndices = Array(scoredIndices.shuffled(using: &pick).prefix(state.hackingGuard.oracleCount(batch: scoredIndices.count)))
        let oracleScores = oracleIndices.map { i in
            oracle.critique(candidates[i].item, steps: candidates[i].steps, answer: candidates[i].answer).finalScore
        }
        let gap = HackingGuard.gap(prm: oracleIndices.map { candidates[$0].final! }, oracle: oracleScores)

        // Advantages, group by group; failed and malformed samples leave their group.
        var advantages: [Int: [Double]] = [:]
        var groups: [[[Double]]] = []
        for p in 0..<P {
            let members = (p * G..<(p + 1) * G).filter { candidates[$0].final != nil }
            let group = members.map { i in
                GroupSample(reward: config.reward.reward(candidates[i].final!), partScores: candidates[i].partScores,
                            tokenParts: candidates[i].tokenParts)
            }
            let a = estimator.advantages(group)
            for (i, adv) in zip(members, a) { advantages[i] = adv }
            groups.append(a)
        }
        let summary = AdvantageSummary(groups)

        // The update.
        let included = candidates.indices.filter { advantages[$0] != nil && !candidates[$0].tokens.isEmpty }
        let weights = aggregation.weights(lengths: included.map { candidates[$0].tokens.count })
        let update = try self.update(included.enumerated().map { n, i in
            UpdateSequence(prompt: prompts[i], response: candidates[i].tokens, advantages: advantages[i]!, weight: weights[n])
        })
        let updated = ContinuousClock.now

        state.step = s
        state.cursor += P
        state.nextSamplingSeed = TrainerState.samplingSeed(seed: config.seed, step: s + 1)
        let decision = state.hackingGuard.observe(gap: gap)
        if case let .refresh(n) = decision { log("step \(s): PRM–oracle gap above \(config.hackingGuard.gapThreshold) for \(config.hackingGuard.patience) steps; refresh \(n)") }

        let rewards = candidates.compactMap { $0.final.map(config.reward.reward) }
        let generatedTokens = generated.reduce(0) { $0 + $1.tokens.count }
        let latencies = report.latenciesMs.sorted()
        var m: [String: Double] = [
            "reward_mean": rewards.isEmpty ? 0 : rewards.reduce(0, +) / Double(rewards.count),
            "reward_min": rewards.min() ?? 0, "reward_max": rewards.max() ?? 0,
            "zero_advantage_group_fraction": summary.zeroAdvantageGroupFraction,
            "nonzero_advantage_token_fraction": summary.nonZeroTokenFraction,
            "kl": update.kl, "entropy": update.entropy, "clip_fraction": update.clipFraction, "loss": update.loss,
            "grad_norm": update.gradNorm,
            "format_valid_fraction": Double(candidates.filter { $0.gated == nil }.count) / Double(candidates.count),
            "samples_failed": Double(failed), "samples_malformed": Double(malformed),
            "samples_gated": Double(candidates.filter { $0.gated != nil }.count),
            "response_tokens_mean": Double(generatedTokens) / Double(max(1, generated.count)),
            "refreshes": Double(state.hackingGuard.refreshes),
            "sampling_s": Self.seconds(sampled - started), "critique_s": Self.seconds(critiqued - sampled),
            "update_s": Self.seconds(updated - critiqued), "step_s": Self.seconds(updated - started),
            "tokens_per_s": Double(generatedTokens + update.tokens) / max(1e-9, Self.seconds(updated - started)),
            "critique_p50_ms": Self.percentile(latencies, 0.5), "critique_p99_ms": Self.percentile(latencies, 0.99),
            "critique_resends": Double(report.resends), "replies_unknown": Double(report.unknownReplies),
            "replies_duplicate": Double(report.duplicateReplies),
        ]
        if let gap {
            m["prm_oracle_gap"] = gap
            m["oracle_reward_mean"] = oracleScores.reduce(0, +) / Double(oracleScores.count)
        }
        let samples = candidates.map { c in
            Sample(responseID: c.responseID, queryID: c.item.query.queryID, text: c.text, steps: c.steps, answer: c.answer,
                   reward: c.final.map(config.reward.reward))
        }
        return StepResult(step: s, metrics: m, samples: samples, decision: decision)
    }

    /// After a PRM refresh, later requests name the new checkpoint.
    public func useCritic(checkpointID: String) {
        state.criticCheckpointID = checkpointID
    }

    /// Records that the run stops here (saved with the next checkpoint).
    public func markStopped(_ reason: String) {
        state.stopped = reason
    }

    // MARK: - Evaluation

    /// The fixed evaluation: one response per evaluation prompt with a fixed seed, judged by the
    /// oracle (`eval_oracle_score`, `eval_acc_pf`, `eval_m_dm`, `eval_hidden_recall`,
    /// `eval_format_valid`).
    public func evaluate() throws -> [String: Double] {
        try Self.evaluate(policy: policy, items: evalItems, config: config, evaluation: evaluation)
    }

    public static func evaluate(policy: Transformer, format: PolicyFormat, items: [AnnotatedQuery],
                                config: PolicyTrainingConfig, pack: KnowledgePack) throws -> [String: Double] {
        try evaluate(policy: policy, items: items, config: config, evaluation: PolicyEvaluation(format: format, pack: pack))
    }

    static func evaluate(policy: Transformer, items: [AnnotatedQuery], config: PolicyTrainingConfig,
                         evaluation: PolicyEvaluation) throws -> [String: Double] {
        guard !items.isEmpty else { return [:] }
        let sampling = PolicyEvaluation.Sampling(temperature: config.temperature, maxNewTokens: config.maxNewTokens)
        let m = PolicyEvaluation.measures(try evaluation.run(policy: policy, items: items, sampling: sampling, batch: items.count))
        return [
            "eval_oracle_score": m["oracle_score"]!, "eval_acc_pf": m["acc_pf"]!, "eval_m_dm": m["m_dm"]!,
            "eval_hidden_recall": m["hidden_pref_recall"]!, "eval_format_valid": m["format_valid"]!,
        ]
    }

    // MARK: - Sampling and the update

    private func sample(prompts: [[Int32]], seed: UInt64) throws -> [GeneratedSequence] {
        let options = SamplingOptions(temperature: config.temperature, maxNewTokens: config.maxNewTokens,
                                      stopTokens: [format.eos], seed: seed)
        return try policy.generate(prompts: prompts, options: options)
    }

    struct Candidate {
        var item: AnnotatedQuery
        var tokens: [Int32]
        var text: String
        var responseID = ""
        var requestID: String?
        var steps: [String] = []
        var answer = ""
        var tokenParts: [Int] = []
        var gated: String?
        var final: Double?
        var partScores: [Double] = []
    }

    public typealias UpdateSequence = PolicyGradient.Sequence

    public struct UpdateFigures: Sendable {
        public var loss = 0.0, kl = 0.0, entropy = 0.0, clipFraction = 0.0, gradNorm = 0.0
        public var tokens = 0
    }

    /// `innerEpochs` optimizer steps on these sequences (``PolicyGradient``); ℓ_old is the first
    /// epoch's log-probability (the weights that sampled), ℓ_ref the reference's.
    public func update(_ sequences: [UpdateSequence]) throws -> UpdateFigures {
        var figures = UpdateFigures()
        guard !sequences.isEmpty else { return figures }
        // Similar lengths share a micro-batch, so little compute goes to padding (the loss is a
        // sum over sequences: their order does not change it).
        let sequences = sequences.enumerated().sorted {
            ($0.element.prompt.count + $0.element.response.count, $0.offset) < ($1.element.prompt.count + $1.element.response.count, $1.offset)
        }.map(\.element)
        let reference = try PolicyGradient.responseLogProbs(self.reference, sequences, microBatch: config.microBatch)
        var old: [[Float]]?
        for epoch in 0..<config.innerEpochs {
            policy.zeroGradients()
            let pass = try PolicyGradient.accumulate(policy, sequences, old: old, reference: reference, objective: objective,
                                                     microBatch: config.microBatch, entropy: epoch == 0)
            figures.gradNorm = Double(policy.update(optimizer: optimizer, learningRate: config.learningRate,
                                                    maxGradientNorm: config.maxGradientNorm))
            if epoch == 0 {
                old = pass.logProbs
                figures.loss = pass.loss
                figures.kl = pass.meanKL
                figures.entropy = pass.meanEntropy
            }
            // The clip can act only once the weights moved: report the last epoch's.
            figures.clipFraction = pass.clipFraction
            figures.tokens += pass.tokens
        }
        return figures
    }

    // MARK: - Helpers

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}
