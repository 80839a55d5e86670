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
///
/// The `interleaved` layout (``PRMLayout``) puts each critique right after its step:
///
/// ```
/// <|bos|>Profile: ...
/// Question: ...
/// Step 1: <step><|critique|><critique> Score: 0.50
/// Step 2: <step><|critique|><critique> Score: 0.90
/// Answer: <answer><|critique|><critique> Score: 0.90
/// Final score: 0.65<|eos|>
/// ```
///
/// The loss is on the critiques, their scores and the final score's number; the response's text,
/// its "Step k:"/"Answer:" labels and "Final score: " are fed, never generated. The chain the
/// critic returns is the usual text form, rebuilt from the generated parts.
public struct PRMFormat: Sendable {
    public let tokenizer: Tokenizer
    public let target: PRMTarget
    public let layout: PRMLayout
    public let bos: Int32
    public let critiqueMarker: Int32
    public let eos: Int32
    /// Tokens whose text contains a line break: a generated critique ends with one.
    public let lineBreaks: Set<Int32>
    /// Most tokens one generated critique (with its score) may take. Default: 64
    public var partBudget = 64

    public init(tokenizer: Tokenizer, target: PRMTarget, layout: PRMLayout = .afterResponse) throws {
        guard let bos = tokenizer.specialID("<|bos|>"), let critique = tokenizer.specialID("<|critique|>"),
              let eos = tokenizer.specialID("<|eos|>") else {
            throw ModelError(.invalidConfiguration, "the tokenizer lacks <|bos|>, <|critique|> or <|eos|>")
        }
        self.tokenizer = tokenizer
        self.target = target
        self.layout = target == .scalar ? .afterResponse : layout
        lineBreaks = Set((0..<Int32(tokenizer.vocabularySize)).filter { tokenizer.decodeBytes([$0]).contains(0x0A) })
        self.bos = bos
        critiqueMarker = critique
        self.eos = eos
    }

    /// "Profile: ...\nQuestion: ...\n".
    public static func headerText(profile: UserProfile, question: String) -> String {
        var head = "Profile: \(oneLine(profile.statedPreference))"
        if let risk = profile.riskTolerance { head += " (risk tolerance: \(risk))" }
        return head + "\nQuestion: \(oneLine(question))\n"
    }

    /// The parts an interleaved sequence critiques, as fed: "Step k: <step>\n", ..., "Answer: <answer>\n".
    public static func partTexts(steps: [String], answer: String) -> [String] {
        ResponseLayout.lines(steps: steps, answer: answer).map { $0 + "\n" }
    }

    /// The interleaved decoding plan of a request: the prompt (header, first part, `<|critique|>`),
    /// what is fed after each later part's turn comes (part, `<|critique|>`), and the final line's lead.
    public func interleavedPlan(profile: UserProfile, question: String, steps: [String], answer: String)
        -> (prompt: [Int32], feeds: [[Int32]], finalLead: [Int32]) {
        let parts = Self.partTexts(steps: steps, answer: answer).map { tokenizer.encode($0) + [critiqueMarker] }
        return ([bos] + tokenizer.encode(Self.headerText(profile: profile, question: question)) + parts[0],
                Array(parts.dropFirst()), tokenizer.encode("Final score: "))
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

    /// How a request is decoded: the prompt, and for the interleaved layout what is fed after each
    /// generated critique line (the next part with `<|critique|>`, then "Final score: ").
    public struct DecodingPlan: Sendable {
        public var prompt: [Int32]
        public var feeds: [[Int32]]
        public var finalLead: [Int32]
        /// Tokens the sequence holds before anything is generated.
        public var fedCount: Int { prompt.count + feeds.map(\.count).reduce(0, +) + finalLead.count }
    }

    public func decodingPlan(_ request: CritiqueRequested) -> DecodingPlan {
        switch layout {
        case .afterResponse: return DecodingPlan(prompt: promptTokens(request), feeds: [], finalLead: [])
        case .interleaved:
            let p = interleavedPlan(profile: request.profile, question: request.question, steps: request.steps,
                                    answer: request.answer)
            return DecodingPlan(prompt: p.prompt, feeds: p.feeds, finalLead: p.finalLead)
        }
    }

    /// Tokens a request's sequence holds before anything is generated: the prompt, plus every
    /// fed part when interleaved.
    public func fedTokenCount(_ request: CritiqueRequested) -> Int { decodingPlan(request).fedCount }

    /// Prompt + target + eos, and the loss mask (true on target and eos tokens).
    public func trainingSequence(_ example: PRMExample) -> (tokens: [Int32], mask: [Bool]) {
        if layout == .interleaved { return interleavedSequence(example) }
        let prompt = promptTokens(profile: example.profile, question: example.question, steps: example.variant.steps,
                                  answer: example.variant.answer)
        let answer = tokenizer.encode(targetText(example.label)) + [eos]
        return (prompt + answer, [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: answer.count))
    }

    /// The interleaved training sequence: fed parts unmasked, critiques and the final number masked.
    func interleavedSequence(_ example: PRMExample) -> (tokens: [Int32], mask: [Bool]) {
        let plan = interleavedPlan(profile: example.profile, question: example.question, steps: example.variant.steps,
                                   answer: example.variant.answer)
        let label = example.label
        var lines = label.stepVerdicts.map { "\($0.critique) Score: \(CritiqueChain.format($0.score))\n" }
        lines.append("\(label.answerVerdict.critique) Score: \(CritiqueChain.format(label.answerVerdict.score))\n")
        precondition(lines.count == plan.feeds.count + 1, "one verdict per step and one for the answer")
        var tokens = plan.prompt, mask = [Bool](repeating: false, count: plan.prompt.count)
        func append(_ t: [Int32], _ trained: Bool) {
            tokens += t
            mask += [Bool](repeating: trained, count: t.count)
        }
        for (j, line) in lines.enumerated() {
            append(tokenizer.encode(line), true)
            append(j < plan.feeds.count ? plan.feeds[j] : plan.finalLead, false)
        }
        append(tokenizer.encode(CritiqueChain.format(label.finalScore)) + [eos], true)
        return (tokens, mask)
    }

    /// Tokens a generation may need for a response of `steps` steps (a generous bound; generation
    /// stops at eos).
    public func generationBudget(steps: Int) -> Int {
        switch target {
        case .critique: return layout == .interleaved ? partBudget * (steps + 1) + 8 : 40 * (steps + 2) + 16
        case .scalar: return 12
        }
    }

    /// Room a critique needs at least; a request whose prompt leaves less is refused.
    public func minimumCritiqueTokens(steps: Int) -> Int {
        target == .critique ? 12 * (steps + 2) : 8
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
