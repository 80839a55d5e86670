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
        /// The sample a feedback revision revises (nil for the policy's own samples).
        public var parentResponseID: String?
        /// `policy`, or `revision` for a feedback revision of `parentResponseID`.
        public var origin: String { parentResponseID == nil ? "policy" : "revision" }
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
            var c = Candidate(item: items[j / G], group: j / G, tokens: g.tokens, text: format.text(g.tokens))
            c.responseID = "\(runID)/\(s)/\(j)"
            if let request = gate(&c) { requests.append(request) }
            candidates.append(c)
        }
        let report = requests.isEmpty ? ScoringReport(scores: [:]) : try await scorer.score(requests)
        var (failed, malformed) = try applyScores(report, to: &candidates)
        let critiqued = ContinuousClock.now

        // Feedback revisions of weak groups; each scored revision joins its group.
        var revisionMetrics: [String: Double] = [:]
        if let threshold = config.revisionThreshold {
            let first = candidates.count
            var revisionRequests: [CritiqueRequested] = []
            let revisions = try revise(candidates, report: report, threshold: threshold, seed: seed ^ 0x5E715E, step: s)
            for var c in revisions {
                if let request = gate(&c) { revisionRequests.append(request) }
                candidates.append(c)
            }
            let revisionReport = revisionRequests.isEmpty ? ScoringReport(scores: [:]) : try await scorer.score(revisionRequests)
            let (f, m) = try applyScores(revisionReport, to: &candidates, from: first)
            failed += f
            malformed += m
            let scored = candidates[first...].filter { $0.final != nil }
            let gains = scored.compactMap { c in
                candidates.first { $0.responseID == c.parentResponseID }?.final.map { config.reward.reward(c.final!) - config.reward.reward($0) }
            }
            revisionMetrics["revisions"] = Double(revisions.count)
            if !scored.isEmpty {
                revisionMetrics["revision_reward_mean"] = scored.map { config.reward.reward($0.final!) }.reduce(0, +) / Double(scored.count)
                revisionMetrics["revision_gain_mean"] = gains.reduce(0, +) / Double(max(1, gains.count))
                revisionMetrics["revision_improved_fraction"] = Double(gains.filter { $0 > 0 }.count) / Double(max(1, gains.count))
            }
            revisionMetrics["revision_s"] = Self.seconds(ContinuousClock.now - critiqued)
        }
        let revised = ContinuousClock.now

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
            let members = candidates.indices.filter { candidates[$0].group == p && candidates[$0].final != nil }
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
            UpdateSequence(prompt: prompts[candidates[i].group * G], response: candidates[i].tokens, advantages: advantages[i]!,
                           weight: weights[n])
        })
        let updated = ContinuousClock.now

        state.step = s
        state.cursor += P
        state.nextSamplingSeed = TrainerState.samplingSeed(seed: config.seed, step: s + 1)
        let decision = state.hackingGuard.observe(gap: gap)
        if case let .refresh(n) = decision { log("step \(s): PRM–oracle gap above \(config.hackingGuard.gapThreshold) for \(config.hackingGuard.patience) steps; refresh \(n)") }

        // The policy's own samples (revisions have their own figures).
        let own = candidates.prefix(P * G)
        let rewards = own.compactMap { $0.final.map(config.reward.reward) }
        let generatedTokens = generated.reduce(0) { $0 + $1.tokens.count }
        let latencies = report.latenciesMs.sorted()
        var m: [String: Double] = [
            "reward_mean": rewards.isEmpty ? 0 : rewards.reduce(0, +) / Double(rewards.count),
            "reward_min": rewards.min() ?? 0, "reward_max": rewards.max() ?? 0,
            "zero_advantage_group_fraction": summary.zeroAdvantageGroupFraction,
            "nonzero_advantage_token_fraction": summary.nonZeroTokenFraction,
            "kl": update.kl, "entropy": update.entropy, "clip_fraction": update.clipFraction, "loss": update.loss,
            "grad_norm": update.gradNorm,
            "format_valid_fraction": Double(own.filter { $0.gated == nil }.count) / Double(own.count),
            "samples_failed": Double(failed), "samples_malformed": Double(malformed),
            "samples_gated": Double(own.filter { $0.gated != nil }.count),
            "response_tokens_mean": Double(generatedTokens) / Double(max(1, generated.count)),
            "refreshes": Double(state.hackingGuard.refreshes),
            "sampling_s": Self.seconds(sampled - started), "critique_s": Self.seconds(critiqued - sampled),
            "update_s": Self.seconds(updated - revised), "step_s": Self.seconds(updated - started),
            "tokens_per_s": Double(generatedTokens + update.tokens) / max(1e-9, Self.seconds(updated - started)),
            "critique_p50_ms": Self.percentile(latencies, 0.5), "critique_p99_ms": Self.percentile(latencies, 0.99),
            "critique_resends": Double(report.resends), "replies_unknown": Double(report.unknownReplies),
            "replies_duplicate": Double(report.duplicateReplies),
        ]
        m.merge(revisionMetrics) { $1 }
        if let gap {
            m["prm_oracle_gap"] = gap
            m["oracle_reward_mean"] = oracleScores.reduce(0, +) / Double(oracleScores.count)
        }
        let samples = candidates.map { c in
            Sample(responseID: c.responseID, queryID: c.item.query.queryID, text: c.text, steps: c.steps, answer: c.answer,
                   reward: c.final.map(config.reward.reward), parentResponseID: c.parentResponseID)
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
        /// The prompt's index in the step: the group the sample belongs to.
        var group: Int
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
        /// The sample a revision revises.
        var parentResponseID: String?
    }

    /// Parses a sample and applies the format gate; the critique request when it passes.
    private func gate(_ c: inout Candidate) -> CritiqueRequested? {
        guard let parsed = ResponseLayout.parse(c.text), let parts = format.tokenParts(c.tokens), parts.steps == parsed.steps.count else {
            c.gated = "format gate: the response's step numbers do not run 1, 2, ..."
            return nil
        }
        c.steps = parsed.steps
        c.answer = parsed.answer
        c.tokenParts = parts.parts
        if case let .rejected(reason) = oracle.gate.check(steps: parsed.steps, answer: parsed.answer) {
            c.gated = reason
            return nil
        }
        let id = "\(c.responseID)#\(FNV1a.hex(c.text.utf8))"
        c.requestID = id
        return CritiqueRequested(
            requestID: id, queryID: c.item.query.queryID, profile: c.item.query.profile,
            question: c.item.query.question, responseID: c.responseID, steps: parsed.steps, answer: parsed.answer,
            policyCheckpointID: checkpointID(step: state.step), criticCheckpointID: state.criticCheckpointID)
    }

    /// Scores from `report` for the candidates from index `first` on; gated ones get the gate's
    /// score. Returns the failed and malformed counts (those samples stay unscored).
    private func applyScores(_ report: ScoringReport, to candidates: inout [Candidate], from first: Int = 0) throws -> (Int, Int) {
        var failed = 0, malformed = 0
        for i in candidates.indices where i >= first {
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
        return (failed, malformed)
    }

    // MARK: - Feedback revisions

    /// A part scored below this is weak: a revision quotes its critique and rewrites from it.
    public static let weakPartScore = 0.5

    /// One revision per group whose best final score is below `threshold`: its best sample (the
    /// first of equals), revised. The revision's prompt is the query's prompt with the weak parts'
    /// critique lines (or the format gate's reason) as feedback; it keeps the draft's tokens before
    /// the first weak part and samples the rest, so the response is the kept steps and the new
    /// ones, at most `maxNewTokens` long. It joins the group as a response to the query's own
    /// prompt. Unscored samples (failed, malformed) are never revised.
    private func revise(_ candidates: [Candidate], report: ScoringReport, threshold: Double, seed: UInt64,
                        step s: Int) throws -> [Candidate] {
        var parents: [Int] = []
        for p in 0..<config.promptsPerStep {
            var best: Int?
            for i in candidates.indices where candidates[i].group == p {
                guard let f = candidates[i].final else { continue }
                if best == nil || f > candidates[best!].final! { best = i }
            }
            if let best, candidates[best].final! < threshold { parents.append(best) }
        }
        guard !parents.isEmpty else { return [] }
        var prompts: [[Int32]] = [], kept: [[Int32]] = []
        for i in parents {
            let c = candidates[i]
            let plan = Self.revisionPlan(critique: c.requestID.flatMap { report.critiques[$0] }, partScores: c.partScores,
                                         gateReason: c.gated)
            let cut = plan.firstWeakPart == 0 ? 0 : (c.tokenParts.firstIndex { $0 >= plan.firstWeakPart } ?? 0)
            let keep = Array(c.tokens.prefix(cut))
            kept.append(keep)
            prompts.append(format.revisionPromptTokens(profile: c.item.query.profile, question: c.item.query.question,
                                                       feedback: plan.feedback, feedbackTokens: config.revisionFeedbackTokens) + keep)
        }
        let generated = try sample(prompts: prompts, seed: seed)
        return zip(parents, zip(kept, generated)).map { i, pair in
            let parent = candidates[i]
            let tokens = Array((pair.0 + pair.1.tokens).prefix(config.maxNewTokens))
            var c = Candidate(item: parent.item, group: parent.group, tokens: tokens, text: format.text(tokens))
            c.responseID = "\(runID)/\(s)/r\(parent.group)"
            c.parentResponseID = parent.responseID
            return c
        }
    }

    /// What a revision reads and where it starts rewriting: the critique lines of the parts scored
    /// below ``weakPartScore`` ("Step 3: repeats step 2; adds nothing. Score: -0.30"), or a line
    /// per weak part when there is no critique text, or the format gate's reason for a gated
    /// draft (rewritten whole). The first weak part is the lowest-scored part when none is weak.
    public static func revisionPlan(critique: String?, partScores: [Double], gateReason: String?)
        -> (feedback: String, firstWeakPart: Int) {
        if let gateReason { return (gateReason, 0) }
        guard !partScores.isEmpty else { return ("", 0) }
        var weak = partScores.indices.filter { partScores[$0] < weakPartScore }
        if weak.isEmpty { weak = [partScores.indices.min { partScores[$0] < partScores[$1] }!] }
        let label = { (k: Int) in k == partScores.count - 1 ? "Answer" : "Step \(k + 1)" }
        let lines = (critique ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let feedback = weak.map { k in
            lines.first { $0.hasPrefix(label(k) + ":") } ?? String(format: "%@: Score: %.2f", label(k), partScores[k])
        }
        return (feedback.joined(separator: " "), weak[0])
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
