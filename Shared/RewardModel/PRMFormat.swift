import Critique
import Events
import Foundation
import LanguageModel

/// How a critique request becomes model tokens, and the training target after it:
///
/// ```
/// <|bos|>Profile: <stated preference> (risk tolerance: low)
/// Question: <question>
/// Step 1: <step>
/// ...
/// Answer: <answer>
/// <|critique|>Step 1: <critique> Score: 0.50
/// ...
/// Final score: 0.65<|eos|>
/// ```
///
/// The loss is on the tokens after `<|critique|>` only.
public struct PRMFormat: Sendable {
    public let tokenizer: Tokenizer
    public let target: PRMTarget
    public let bos: Int32
    public let critiqueMarker: Int32
    public let eos: Int32

    public init(tokenizer: Tokenizer, target: PRMTarget) throws {
        guard let bos = tokenizer.specialID("<|bos|>"), let critique = tokenizer.specialID("<|critique|>"),
              let eos = tokenizer.specialID("<|eos|>") else {
            throw ModelError(.invalidConfiguration, "the tokenizer lacks <|bos|>, <|critique|> or <|eos|>")
        }
        self.tokenizer = tokenizer
        self.target = target
        self.bos = bos
        critiqueMarker = critique
        self.eos = eos
    }

    /// The prompt as text (without the special tokens).
    public static func promptText(profile: UserProfile, question: String, steps: [String], answer: String) -> String {
        var head = "Profile: \(oneLine(profile.statedPreference))"
        if let risk = profile.riskTolerance { head += " (risk tolerance: \(risk))" }
        return head + "\nQuestion: \(oneLine(question))\n" + ResponseLayout.text(steps: steps, answer: answer) + "\n"
    }

    /// The target text for a label.
    public func targetText(_ chain: CritiqueChain) -> String {
        switch target {
        case .critique: return chain.text
        case .scalar: return "Final score: \(CritiqueChain.format(chain.finalScore))"
        }
    }

    public func promptTokens(profile: UserProfile, question: String, steps: [String], answer: String) -> [Int32] {
        [bos] + tokenizer.encode(Self.promptText(profile: profile, question: question, steps: steps, answer: answer))
            + [critiqueMarker]
    }

    public func promptTokens(_ request: CritiqueRequested) -> [Int32] {
        promptTokens(profile: request.profile, question: request.question, steps: request.steps, answer: request.answer)
    }

    /// Prompt + target + eos, and the loss mask (true on target and eos tokens).
    public func trainingSequence(_ example: PRMExample) -> (tokens: [Int32], mask: [Bool]) {
        let prompt = promptTokens(profile: example.profile, question: example.question, steps: example.variant.steps,
                                  answer: example.variant.answer)
        let answer = tokenizer.encode(targetText(example.label)) + [eos]
        return (prompt + answer, [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: answer.count))
    }

    /// Tokens a generation may need for a response of `steps` steps (a generous bound; generation
    /// stops at eos).
    public func generationBudget(steps: Int) -> Int {
        switch target {
        case .critique: return 40 * (steps + 2) + 16
        case .scalar: return 12
        }
    }

    /// Room a critique needs at least; a request whose prompt leaves less is refused.
    public func minimumCritiqueTokens(steps: Int) -> Int {
        target == .critique ? 12 * (steps + 2) : 8
    }

    private static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
