import Foundation

/// The token-level PPO-clip objective with a KL penalty to the frozen reference policy
/// (Docs/algorithms.md, "Policy loss"). For one token with advantage A, new, old and reference
/// log-probabilities ℓ, ℓ_old, ℓ_ref:
///
///   ρ = exp(ℓ − ℓ_old)
///   surrogate = min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A)
///   k3 = exp(ℓ_ref − ℓ) − (ℓ_ref − ℓ) − 1            (≥ 0, unbiased for KL(π‖π_ref))
///   loss = −surrogate + β·k3
///
/// and its derivative with respect to ℓ, which the trainer back-propagates through the model:
///
///   ∂loss/∂ℓ = −ρ·A where the unclipped term is the minimum (0 where the clip is active) + β·(1 − exp(ℓ_ref − ℓ))
public struct ClippedObjective: Sendable, Equatable {
    /// Lower clip range: ρ is clipped at 1 − εLow. Default: 0.2
    public var epsilonLow: Double
    /// Upper clip range: ρ is clipped at 1 + εHigh. Default: 0.28
    public var epsilonHigh: Double
    /// KL weight. Default: 0.02
    public var beta: Double

    public init(epsilonLow: Double = 0.2, epsilonHigh: Double = 0.28, beta: Double = 0.02) {
        precondition(epsilonLow >= 0 && epsilonLow < 1 && epsilonHigh >= 0 && beta >= 0, "clip ranges in [0, 1), β ≥ 0")
        self.epsilonLow = epsilonLow
        self.epsilonHigh = epsilonHigh
        self.beta = beta
    }

    /// One token's figures.
    public struct Token: Sendable, Equatable {
        public var loss: Double
        /// ∂loss/∂ℓ.
        public var gradient: Double
        /// The clip decided the surrogate (its gradient is 0).
        public var clipped: Bool
        public var kl: Double
    }

    public func token(advantage a: Double, logProb l: Double, oldLogProb old: Double, referenceLogProb ref: Double) -> Token {
        let ratio = exp(l - old)
        let clippedRatio = min(max(ratio, 1 - epsilonLow), 1 + epsilonHigh)
        let unclipped = ratio * a, clippedTerm = clippedRatio * a
        // The clipped term decides when it is strictly smaller and the ratio was actually clipped.
        let clipActive = clippedTerm < unclipped && clippedRatio != ratio
        let surrogate = clipActive ? clippedTerm : unclipped
        let d = ref - l
        let kl = exp(d) - d - 1
        let gradient = (clipActive ? 0 : -ratio * a) + beta * (1 - exp(d))
        return Token(loss: -surrogate + beta * kl, gradient: gradient, clipped: clipActive, kl: kl)
    }
}
