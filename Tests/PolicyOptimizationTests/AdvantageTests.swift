import Foundation
import PolicyOptimization
import Testing

private func close(_ a: Double, _ b: Double, _ tol: Double = 1e-6) -> Bool { abs(a - b) <= tol }

@Suite struct AdvantageTests {
    @Test func grpoNormalizesTheGroupAndBroadcastsToEveryToken() {
        let group = [GroupSample(reward: 1, tokenParts: [0, 0, 0]), GroupSample(reward: 0, tokenParts: [0]),
                     GroupSample(reward: 0, tokenParts: [0, 0]), GroupSample(reward: -1, tokenParts: [0, 0])]
        let a = AdvantageEstimator.grpo.advantages(group)
        let z = 1 / 0.5.squareRoot()   // mean 0, population std √0.5
        #expect(a.map(\.count) == [3, 1, 2, 2])
        #expect(a[0].allSatisfy { close($0, z, 1e-5) } && a[3].allSatisfy { close($0, -z, 1e-5) })
        #expect(a[1] == [0] && a[2] == [0, 0])
        // A tie gives no signal at all.
        let tied = AdvantageEstimator.grpo.advantages([GroupSample(reward: 0.4, tokenParts: [0, 0]),
                                                      GroupSample(reward: 0.4, tokenParts: [0])])
        #expect(tied == [[0, 0], [0]])
    }

    @Test func cdpaNormalizesPartScoresAtEachPosition() {
        // Equal rewards, different steps: GRPO has nothing, CDPA has the steps.
        let a = GroupSample(reward: 0.5, partScores: [0.9, -0.6, 0.5], tokenParts: [0, 0, 1, 2])
        let b = GroupSample(reward: 0.5, partScores: [0.9, 0.3, 0.5], tokenParts: [0, 1, 1, 2, 2])
        #expect(AdvantageEstimator.grpo.advantages([a, b]).flatMap { $0 }.allSatisfy { $0 == 0 })
        let adv = AdvantageEstimator.cdpa.advantages([a, b])
        // t = 0: both 0.9, a tie → 0. t = 1: a 0.9, b 0.3 → ±1. t = 2: a −0.6, b 0.3 → ∓1.
        // t = 3: both 0.5 → 0. t = 4: only b reaches it → 0.
        #expect(adv[0].count == 4 && adv[1].count == 5)
        #expect(adv[0][0] == 0 && adv[1][0] == 0)
        #expect(close(adv[0][1], 1, 1e-5) && close(adv[1][1], -1, 1e-5))
        #expect(close(adv[0][2], -1, 1e-5) && close(adv[1][2], 1, 1e-5))
        #expect(adv[0][3] == 0 && adv[1][3] == 0 && adv[1][4] == 0)
    }

    @Test func cdpaStepAddsTheGroupNormalizedStepScore() {
        let a = GroupSample(reward: 1, partScores: [1, 0], tokenParts: [0, 1])
        let b = GroupSample(reward: 0, partScores: [0, 0], tokenParts: [0, 1, 1])
        let lambda = 0.5
        let adv = AdvantageEstimator.cdpaStep(lambda: lambda).advantages([a, b])
        // Sequence part: ±1. Parts over the group: [1, 0, 0, 0], mean 0.25, std √0.1875.
        let s = 0.1875.squareRoot()
        #expect(close(adv[0][0], 1 + lambda * 0.75 / s, 1e-5))
        #expect(close(adv[0][1], 1 + lambda * -0.25 / s, 1e-5))
        #expect(adv[1].allSatisfy { close($0, -1 + lambda * -0.25 / s, 1e-5) })
        // All parts tie: the sequence advantage alone.
        let flat = AdvantageEstimator.cdpaStep(lambda: lambda).advantages([
            GroupSample(reward: 1, partScores: [0.5], tokenParts: [0]), GroupSample(reward: 0, partScores: [0.5], tokenParts: [0])])
        #expect(close(flat[0][0], 1, 1e-5) && close(flat[1][0], -1, 1e-5))
        #expect(AdvantageEstimator(name: "cdpa-step", lambda: 0.3) == .cdpaStep(lambda: 0.3))
        #expect(AdvantageEstimator(name: "ppo") == nil)
    }

    @Test func summaryCountsZeroGroupsAndNonZeroTokens() {
        let summary = AdvantageSummary([[[0, 0], [0]], [[1, 0], [-1]]])
        #expect(summary.zeroAdvantageGroupFraction == 0.5)
        #expect(close(summary.nonZeroTokenFraction, 2.0 / 6))
    }

    @Test func lossAggregationWeights() {
        let lengths = [2, 4]
        let seq = LossAggregation.sequenceMean.weights(lengths: lengths)
        #expect(close(seq[0] * 2, 0.5) && close(seq[1] * 4, 0.5))        // each sequence counts 1/N
        let tok = LossAggregation.tokenMean.weights(lengths: lengths)
        #expect(close(tok[0] * 2 + tok[1] * 4, 1) && tok[0] == tok[1])    // every token alike
        let c = LossAggregation.constant(8).weights(lengths: lengths)
        #expect(close(c[0], 1.0 / 16) && c[0] == c[1])                   // independent of the lengths
    }
}

@Suite struct ClippedObjectiveTests {
    let objective = ClippedObjective(epsilonLow: 0.2, epsilonHigh: 0.28, beta: 0.05)

    @Test func gradientIsTheDerivativeOfTheLoss() {
        for (a, l, old, ref) in [(0.7, -1.2, -1.3, -1.0), (-0.4, -2.0, -1.9, -2.5), (1.3, -0.5, -0.45, -0.6), (-1.0, -3.0, -3.05, -2.9)] {
            let t = objective.token(advantage: a, logProb: l, oldLogProb: old, referenceLogProb: ref)
            let h = 1e-6
            let up = objective.token(advantage: a, logProb: l + h, oldLogProb: old, referenceLogProb: ref).loss
            let down = objective.token(advantage: a, logProb: l - h, oldLogProb: old, referenceLogProb: ref).loss
            #expect(!t.clipped)
            #expect(close(t.gradient, (up - down) / (2 * h), 1e-5), "A \(a): \(t.gradient) vs \((up - down) / (2 * h))")
        }
    }

    @Test func theClipStopsTheGradientOnlyWhereItBinds() {
        // A > 0 and the ratio above 1 + εHigh: clipped, no surrogate gradient.
        let high = objective.token(advantage: 1, logProb: log(1.5), oldLogProb: 0, referenceLogProb: log(1.5))
        #expect(high.clipped && close(high.gradient, 0) && close(high.loss, -1.28))
        // A < 0 and the ratio below 1 − εLow: clipped.
        let low = objective.token(advantage: -1, logProb: log(0.5), oldLogProb: 0, referenceLogProb: log(0.5))
        #expect(low.clipped && close(low.gradient, 0) && close(low.loss, 0.8))
        // A > 0 and the ratio below 1 − εLow: the unclipped term is the minimum, so it keeps its gradient.
        let recover = objective.token(advantage: 1, logProb: log(0.5), oldLogProb: 0, referenceLogProb: log(0.5))
        #expect(!recover.clipped && close(recover.gradient, -0.5))
        // The separate ranges: 1.25 is inside the upper range (0.28), 0.78 outside the lower (0.2).
        #expect(!objective.token(advantage: 1, logProb: log(1.25), oldLogProb: 0, referenceLogProb: log(1.25)).clipped)
        #expect(objective.token(advantage: -1, logProb: log(0.78), oldLogProb: 0, referenceLogProb: log(0.78)).clipped)
    }

    @Test func klIsZeroAtTheReferenceAndPositiveAway() {
        let at = objective.token(advantage: 0, logProb: -1, oldLogProb: -1, referenceLogProb: -1)
        #expect(at.kl == 0 && at.gradient == 0 && at.loss == 0)
        let away = objective.token(advantage: 0, logProb: -1, oldLogProb: -1, referenceLogProb: -1.5)
        #expect(away.kl > 0 && away.loss > 0)
    }
}
