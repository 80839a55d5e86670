import Critique
import DeepPrefTesting
import Events
import Foundation
import LanguageModel
import PolicyOptimization
import PolicyTraining
import Testing

@Suite(.serialized) struct PolicyRLTrainerTests {
    /// Metrics that are functions of the data and the critic's replies (not of the clock).
    static func deterministic(_ m: [String: Double]) -> [String: Double] {
        m.filter { !PolicyRLTrainer.timingMetrics.contains($0.key) }
    }

    @Test func theWarmStartWritesTheStepFormat() throws {
        let trainer = try TinyWorld.trainer()
        let eval = try trainer.evaluate()
        #expect((eval["eval_format_valid"] ?? 0) >= 0.5, "the warm start writes parsable Step/Answer responses: \(eval)")
    }

    @Test func aStepScoresSamplesAndUpdatesTheWeights() async throws {
        let trainer = try TinyWorld.trainer()
        let before = trainer.policy.parameters.toArray()
        let result = try await trainer.step(scorer: TinyWorld.oracle)
        #expect(result.step == 1 && trainer.state.step == 1 && trainer.state.cursor == 3)
        #expect(result.samples.count == 12)
        #expect(Set(result.samples.map(\.responseID)).count == 12)
        #expect(result.metrics["kl"] == 0, "the first update starts at the reference")
        #expect(result.metrics["prm_oracle_gap"].map { abs($0) < 1e-9 } ?? true, "the oracle agrees with itself")
        #expect(trainer.policy.parameters.toArray() != before)
        for key in ["reward_mean", "reward_min", "reward_max", "zero_advantage_group_fraction", "nonzero_advantage_token_fraction",
                    "entropy", "clip_fraction", "sampling_s", "critique_s", "update_s", "tokens_per_s", "format_valid_fraction"] {
            #expect(result.metrics[key] != nil, "\(key) is reported")
        }
    }

    /// With feedback revisions on, every group below the threshold gets one revision of its best
    /// sample; it is scored, joins the group, and names its parent. Off, there are none.
    @Test func feedbackRevisionsJoinWeakGroups() async throws {
        var config = TinyWorld.config
        config.revisionThreshold = 1.0  // every group is weak: final scores are below 1
        let trainer = try TinyWorld.trainer(config, run: "revise")
        let result = try await trainer.step(scorer: TinyWorld.oracle)
        let own = result.samples.filter { $0.origin == "policy" }
        let revisions = result.samples.filter { $0.origin == "revision" }
        #expect(own.count == 12)
        #expect(revisions.count == 3, "one revision per group")
        #expect(result.metrics["revisions"] == 3)
        #expect(result.metrics["revision_s"] != nil && result.metrics["revision_gain_mean"] != nil)
        for (r, group) in zip(revisions, 0..<3) {
            let parent = try #require(own.first { $0.responseID == r.parentResponseID }, "the parent is a sample of the step")
            #expect(parent.queryID == r.queryID)
            #expect(r.responseID.hasSuffix("/r\(group)"))
            // The parent is its group's best-scored sample.
            let group = own.filter { $0.queryID == parent.queryID }
            #expect(parent.reward == group.compactMap(\.reward).max())
            #expect(r.reward != nil, "the revision is scored")
        }

        let off = try await TinyWorld.trainer(run: "no-revise").step(scorer: TinyWorld.oracle)
        #expect(off.samples.allSatisfy { $0.origin == "policy" && $0.parentResponseID == nil })
        #expect(off.metrics["revisions"] == nil)
    }

    /// What a revision reads: the weak parts' critique lines, the gate's reason for a gated draft.
    @Test func revisionFeedbackQuotesTheWeakParts() {
        let critique = "Step 1: restates the request. Score: 0.50\nStep 2: repeats step 1; adds nothing. Score: -0.30\n"
            + "Answer: misses time. Score: -0.60\nFinal score: -0.10"
        let plan = PolicyRLTrainer.revisionPlan(critique: critique, partScores: [0.5, -0.3, -0.6], gateReason: nil)
        #expect(plan.feedback == "Step 2: repeats step 1; adds nothing. Score: -0.30 Answer: misses time. Score: -0.60")
        #expect(plan.firstWeakPart == 1)
        let bare = PolicyRLTrainer.revisionPlan(critique: nil, partScores: [0.9, 0.7, 0.6], gateReason: nil)
        #expect(bare.feedback == "Answer: Score: 0.60" && bare.firstWeakPart == 2, "the lowest part when none is weak")
        let gated = PolicyRLTrainer.revisionPlan(critique: nil, partScores: [-0.8], gateReason: "format gate: step 3 repeats step 2")
        #expect(gated.feedback == "format gate: step 3 repeats step 2" && gated.firstWeakPart == 0)
    }

    /// A run resumed from serialized weights, optimizer state and trainer state repeats the
    /// uninterrupted run's steps bit for bit.
    @Test func resumingFromACheckpointRepeatsTheRunExactly() async throws {
        let straight = try TinyWorld.trainer(run: "resume")
        var expected: [[String: Double]] = []
        for _ in 0..<4 { expected.append(Self.deterministic(try await straight.step(scorer: TinyWorld.oracle).metrics)) }

        let first = try TinyWorld.trainer(run: "resume")
        var got: [[String: Double]] = []
        for _ in 0..<2 { got.append(Self.deterministic(try await first.step(scorer: TinyWorld.oracle).metrics)) }
        let weights = first.policy.checkpointBytes(tokenizer: TinyWorld.warmStart.tokenizer)
        let moments = OptimizerState.bytes(first.optimizer)
        let state = try JSONEncoder().encode(first.state)

        let policy = try Checkpoint(bytes: weights).model
        let optimizer = policy.makeOptimizer()
        try OptimizerState.restore(optimizer, from: moments)
        let resumed = try PolicyRLTrainer(config: TinyWorld.config, runID: "resume", tokenizer: TinyWorld.warmStart.tokenizer,
                                          policy: policy, reference: TinyWorld.warmStart.model, optimizer: optimizer,
                                          state: try JSONDecoder().decode(TrainerState.self, from: state),
                                          trainItems: TinyWorld.items, evalItems: Array(TinyWorld.items.suffix(6)), pack: Fixture.pack)
        for _ in 0..<2 { got.append(Self.deterministic(try await resumed.step(scorer: TinyWorld.oracle).metrics)) }
        #expect(got == expected)
        #expect(resumed.policy.parameters.toArray() == straight.policy.parameters.toArray(), "the weights agree bit for bit")
    }

    /// A critic that rates everything highly is gamed; the oracle share shows the gap, the guard
    /// asks for a refresh after `patience` steps, and once the refresh limit is used up it stops.
    @Test func theGuardFiresOnAnExploitableCritic() async throws {
        let trainer = try TinyWorld.trainer(run: "guard")
        let gullible = GullibleScorer()
        var decisions: [HackingGuard.Decision] = []
        var gaps: [Double] = []
        for _ in 0..<2 {
            let r = try await trainer.step(scorer: gullible)
            decisions.append(r.decision)
            gaps.append(r.metrics["prm_oracle_gap"] ?? .nan)
        }
        #expect(gaps.allSatisfy { $0 > 0.3 }, "the gullible critic overrates: gaps \(gaps)")
        #expect(decisions == [.proceed, .refresh(number: 1)])
        // After the refresh the critic is honest (the oracle): the gap closes and training proceeds.
        trainer.useCritic(checkpointID: "refreshed")
        let honest = try await trainer.step(scorer: TinyWorld.oracle)
        #expect(honest.decision == .proceed)
        #expect(abs(honest.metrics["prm_oracle_gap"] ?? 1) < 1e-9)
        #expect(honest.metrics["refreshes"] == 1)
        // Gamed again with the one refresh used: the run stops with a reason.
        var last: HackingGuard.Decision = .proceed
        for _ in 0..<2 { last = try await trainer.step(scorer: gullible).decision }
        guard case let .stop(reason) = last else { Issue.record("expected a stop, got \(last)"); return }
        #expect(reason.contains("gap"))
        // The stop is part of the state a checkpoint saves: a restarted run sees it and stays stopped.
        #expect(trainer.state.stopped == nil)
        trainer.markStopped(reason)
        let saved = try JSONDecoder().decode(TrainerState.self, from: JSONEncoder().encode(trainer.state))
        #expect(saved.stopped == reason)
        #expect(saved == trainer.state)
    }

    /// Failed and malformed critiques are counted and leave their group; they are never scored as 0.
    @Test func failedAndMalformedRepliesAreNeverScored() async throws {
        let trainer = try TinyWorld.trainer(run: "flaky")
        let result = try await trainer.step(scorer: FlakyScorer(TinyWorld.oracle))
        let failed = result.metrics["samples_failed"] ?? 0, malformed = result.metrics["samples_malformed"] ?? 0
        #expect(failed + malformed > 0)
        let unscored = result.samples.filter { $0.reward == nil }.count
        #expect(Double(unscored) == failed + malformed)
    }

    /// A sampled NUL byte never reaches the stored text (PostgreSQL's text and jsonb refuse it).
    @Test func sampledNULBytesAreDroppedFromTheText() throws {
        let format = try PolicyFormat(tokenizer: TinyWorld.warmStart.tokenizer)
        let tokens = format.tokenizer.encode("Step 1: a") + [0] + format.tokenizer.encode("b\nAnswer: c") + [format.eos]
        #expect(format.text(tokens) == "Step 1: ab\nAnswer: c")
        #expect(format.tokenParts(tokens)?.steps == 1)
    }

    @Test func aCorruptedOptimizerStateIsRefused() throws {
        let trainer = try TinyWorld.trainer()
        var bytes = OptimizerState.bytes(trainer.optimizer)
        bytes[bytes.count / 2] ^= 0x40
        let fresh = trainer.policy.makeOptimizer()
        #expect(throws: ModelError.self) { try OptimizerState.restore(fresh, from: bytes) }
        #expect(fresh.stepCount == 0)
        #expect(throws: ModelError.self) { try OptimizerState.restore(fresh, from: Array(bytes.prefix(100))) }
    }
}
