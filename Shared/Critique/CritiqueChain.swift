import Events

/// A generative reward model's critique of one response, as the published work writes it
/// (DESIGN §6): a critique and a score in [−1, 1] for every step, then for the answer, then the
/// final score.
///
/// ```
/// Step 1: identifies the wish to keep family informed. Score: 0.7
/// Step 2: proposes 24/7 tracking; ignores the implicit wish for autonomy. Score: -0.6
/// Answer: intrusive; offers no check-in alternative. Score: -0.5
/// Final score: -0.4
/// ```
public struct CritiqueChain: Sendable, Equatable {
    /// One verdict per step, in step order (indices 1, 2, ...).
    public var stepVerdicts: [StepVerdict]
    public var answerVerdict: AnswerVerdict
    /// In [−1, 1].
    public var finalScore: Double

    public init(stepVerdicts: [StepVerdict], answerVerdict: AnswerVerdict, finalScore: Double) {
        self.stepVerdicts = stepVerdicts
        self.answerVerdict = answerVerdict
        self.finalScore = finalScore
    }

    /// The chain in its text form, which ``CritiqueChainParser`` reads back to an equal value for
    /// any chain whose critiques are single lines without a " Score: " of their own. Scores are
    /// written with two decimals, as the training targets use them.
    public var text: String {
        var lines = stepVerdicts.map { "Step \($0.index): \($0.critique) Score: \(Self.format($0.score))" }
        lines.append("Answer: \(answerVerdict.critique) Score: \(Self.format(answerVerdict.score))")
        lines.append("Final score: \(Self.format(finalScore))")
        return lines.joined(separator: "\n")
    }

    /// The final score the step oracle gives a chain's verdicts (DESIGN §6): 0.35 × the mean step
    /// score + 0.65 × the answer's score (the answer's score alone without steps), at most 0.2 when
    /// some step scores −0.5 or less. The format gate's cap is applied by whoever runs the gate.
    public static func aggregateFinalScore(stepScores: [Double], answerScore: Double) -> Double {
        guard !stepScores.isEmpty else { return answerScore }
        var final = 0.35 * stepScores.reduce(0, +) / Double(stepScores.count) + 0.65 * answerScore
        if let worst = stepScores.min(), worst <= -0.5 { final = min(final, 0.2) }
        return final
    }

    /// `0.70`, `-0.25`, `1.00`: two decimals, no exponent, `-0.00` written as `0.00`.
    public static func format(_ score: Double) -> String {
        let hundredths = Int((score * 100).rounded())
        let sign = hundredths < 0 ? "-" : ""
        let magnitude = abs(hundredths)
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
