import Critique
import Foundation

/// How a critic's outcomes agree with the step oracle on labelled examples (issue "Pers-GenPRM",
/// acceptance): pairwise accuracy, step-score sign agreement, Spearman of final scores, parse
/// failures. Signs are −/0/+ with |s| < ``zeroBand`` counted as 0.
public struct PRMEvaluation: Sendable {
    /// Scores closer to 0 than this have sign 0. Default: 0.05
    public static let zeroBand = 0.05

    /// Examples critiqued.
    public let count: Int
    /// Share of examples whose outcome was `malformed` (failed outcomes are not generations).
    public let parseFailureRate: Double
    /// Share of examples that were `failed` (e.g. over the context).
    public let failureRate: Double
    /// Aligned scored above superficial, over queries that have both.
    public let pairwiseAlignedOverSuperficial: Double?
    /// Aligned scored above a mixed chain, over the pairs the oracle ranks that way.
    public let pairwiseAlignedOverMixed: Double?
    /// Step-score sign agreement over every step of every scored example.
    public let stepSignAgreement: Double?
    /// The same over the two references only.
    public let stepSignAgreementReferences: Double?
    /// Final-score sign agreement (for the garbled probe set).
    public let finalSignAgreement: Double?
    public let spearman: Double?
    public let finalScoreMAE: Double
    /// Generations per example (≥ 1 for model critics).
    public let meanAttempts: Double

    public init(examples: [PRMExample], outcomes: [CritiqueOutcome]) {
        precondition(examples.count == outcomes.count, "one outcome per example")
        count = examples.count
        var malformed = 0, failed = 0, attempts = 0
        var scored: [(PRMExample, CritiqueChain)] = []
        for (e, o) in zip(examples, outcomes) {
            switch o {
            case let .scored(chain, _, n): scored.append((e, chain)); attempts += n
            case let .malformed(_, _, n): malformed += 1; attempts += n
            case .failed: failed += 1
            }
        }
        parseFailureRate = count == 0 ? 0 : Double(malformed) / Double(count)
        failureRate = count == 0 ? 0 : Double(failed) / Double(count)
        meanAttempts = count == failed ? 0 : Double(attempts) / Double(count - failed)

        var steps = 0, stepAgree = 0, refSteps = 0, refAgree = 0, finalAgree = 0
        var absError = 0.0
        for (e, chain) in scored {
            absError += abs(chain.finalScore - e.label.finalScore)
            if Self.sign(chain.finalScore) == Self.sign(e.label.finalScore) { finalAgree += 1 }
            guard chain.stepVerdicts.count == e.label.stepVerdicts.count, !chain.stepVerdicts.isEmpty else { continue }
            let isReference = e.variant.origin.hasPrefix("reference_")
            for (p, l) in zip(chain.stepVerdicts, e.label.stepVerdicts) {
                let agree = Self.sign(p.score) == Self.sign(l.score)
                steps += 1
                if agree { stepAgree += 1 }
                if isReference { refSteps += 1; if agree { refAgree += 1 } }
            }
        }
        stepSignAgreement = steps == 0 ? nil : Double(stepAgree) / Double(steps)
        stepSignAgreementReferences = refSteps == 0 ? nil : Double(refAgree) / Double(refSteps)
        finalSignAgreement = scored.isEmpty ? nil : Double(finalAgree) / Double(scored.count)
        finalScoreMAE = scored.isEmpty ? .nan : absError / Double(scored.count)
        spearman = Self.spearman(scored.map { $0.1.finalScore }, scored.map { $0.0.label.finalScore })

        // Pairwise, per query.
        var byQuery: [String: [(PRMExample, CritiqueChain)]] = [:]
        for pair in scored { byQuery[pair.0.queryID, default: []].append(pair) }
        var sup = 0, supWins = 0, mix = 0, mixWins = 0
        for (_, group) in byQuery {
            guard let aligned = group.first(where: { $0.0.variant.origin == "reference_aligned" }) else { continue }
            if let s = group.first(where: { $0.0.variant.origin == "reference_superficial" }) {
                sup += 1
                if aligned.1.finalScore > s.1.finalScore { supWins += 1 }
            }
            for m in group where m.0.variant.origin.hasPrefix("mixed:") && aligned.0.label.finalScore > m.0.label.finalScore {
                mix += 1
                if aligned.1.finalScore > m.1.finalScore { mixWins += 1 }
            }
        }
        pairwiseAlignedOverSuperficial = sup == 0 ? nil : Double(supWins) / Double(sup)
        pairwiseAlignedOverMixed = mix == 0 ? nil : Double(mixWins) / Double(mix)
    }

    static func sign(_ s: Double) -> Int { abs(s) < zeroBand ? 0 : (s > 0 ? 1 : -1) }

    /// Spearman's rank correlation with average ranks for ties; nil under 3 points or no spread.
    static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
        guard a.count >= 3 else { return nil }
        let ra = ranks(a), rb = ranks(b)
        let n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var cov = 0.0, va = 0.0, vb = 0.0
        for i in ra.indices {
            cov += (ra[i] - ma) * (rb[i] - mb)
            va += (ra[i] - ma) * (ra[i] - ma)
            vb += (rb[i] - mb) * (rb[i] - mb)
        }
        guard va > 0, vb > 0 else { return nil }
        return cov / (va * vb).squareRoot()
    }

    static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = rank }
            i = j + 1
        }
        return r
    }

    /// The figures by name, for `checkpoints.config`, `training_metrics` and the bench output.
    public var figures: [String: Double] {
        var f: [String: Double] = ["count": Double(count), "parse_failure_rate": parseFailureRate,
                                   "failure_rate": failureRate, "final_score_mae": finalScoreMAE,
                                   "mean_attempts": meanAttempts]
        f["pairwise_aligned_over_superficial"] = pairwiseAlignedOverSuperficial
        f["pairwise_aligned_over_mixed"] = pairwiseAlignedOverMixed
        f["step_sign_agreement"] = stepSignAgreement
        f["step_sign_agreement_references"] = stepSignAgreementReferences
        f["final_sign_agreement"] = finalSignAgreement
        f["spearman"] = spearman
        return f
    }
}
