import Critique
import Events
import Foundation
import LanguageModel

/// How the policy reads a query and writes a response (DESIGN §7):
///
///     <|bos|>Profile: <stated preference>\nQuestion: <question>\n<|assistant|>Step 1: ...\n...\nAnswer: ...<|eos|>
///
/// The prompt is the user's profile and question; the response is "Step 1: ... Step N: ...
/// Answer: ..." one part per line (`ResponseLayout`), ended by `<|eos|>`.
public struct PolicyFormat: Sendable {
    public let tokenizer: Tokenizer
    public let bos: Int32
    public let assistant: Int32
    public let eos: Int32
    /// Bytes of every token, for finding which part a generated token belongs to.
    private let tokenBytes: [[UInt8]]

    public init(tokenizer: Tokenizer) throws {
        guard let bos = tokenizer.specialID("<|bos|>"), let assistant = tokenizer.specialID("<|assistant|>"),
              let eos = tokenizer.specialID("<|eos|>") else {
            throw ModelError(.malformedTokenizer, "the policy tokenizer needs <|bos|>, <|assistant|> and <|eos|>")
        }
        self.tokenizer = tokenizer
        self.bos = bos
        self.assistant = assistant
        self.eos = eos
        tokenBytes = (0..<Int32(tokenizer.vocabularySize)).map { id in
            id == eos ? [] : tokenizer.decodeBytes([id])
        }
    }

    /// The prompt's text (without the special tokens).
    public static func promptText(profile: UserProfile, question: String) -> String {
        "Profile: \(oneLine(profile.statedPreference))\nQuestion: \(oneLine(question))\n"
    }

    public func promptTokens(profile: UserProfile, question: String) -> [Int32] {
        [bos] + tokenizer.encode(Self.promptText(profile: profile, question: question)) + [assistant]
    }

    /// The prompt of a feedback revision: the query's prompt with the critique's feedback as one
    /// more line, at most `feedbackTokens` tokens of it,
    ///
    ///     <|bos|>Profile: ...\nQuestion: ...\nFeedback: <critique lines>\n<|assistant|>
    ///
    /// The revision then continues the draft's kept steps (`PolicyRLTrainer`).
    public func revisionPromptTokens(profile: UserProfile, question: String, feedback: String, feedbackTokens: Int) -> [Int32] {
        let feedback = Array(tokenizer.encode("Feedback: " + Self.oneLine(feedback)).prefix(feedbackTokens))
        return [bos] + tokenizer.encode(Self.promptText(profile: profile, question: question)) + feedback
            + tokenizer.encode("\n") + [assistant]
    }

    /// The tokens of a response text, ended by `<|eos|>`.
    public func responseTokens(_ text: String) -> [Int32] {
        tokenizer.encode(text) + [eos]
    }

    /// The text of generated tokens (a final `<|eos|>` dropped). NUL bytes are dropped too: a
    /// sampled byte token can be one, and PostgreSQL's text and jsonb cannot hold it.
    public func text(_ tokens: [Int32]) -> String {
        String(decoding: tokens.filter { $0 != eos }.flatMap { tokenizer.decodeBytes([$0]) }.filter { $0 != 0 }, as: UTF8.self)
    }

    /// Which part (step k, or the answer after the last step) each generated token belongs to.
    public func tokenParts(_ tokens: [Int32]) -> (parts: [Int], steps: Int)? {
        ResponseLayout.tokenParts(tokenBytes: tokens.map { Int($0) < tokenBytes.count ? tokenBytes[Int($0)] : [] })
    }

    /// The text the tokenizer is trained on: prompts and references, one per line.
    public static func tokenizerCorpus(_ items: [AnnotatedQuery]) -> String {
        items.map { item in
            promptText(profile: item.query.profile, question: item.query.question)
                + ResponseLayout.text(steps: item.annotation.reasoningChain.map(\.text), answer: item.annotation.alignedAnswer)
        }.joined(separator: "\n")
    }

    /// The council's reference response for an item (the SFT target).
    public static func reference(_ item: AnnotatedQuery) -> String {
        ResponseLayout.text(steps: item.annotation.reasoningChain.map(\.text), answer: item.annotation.alignedAnswer)
    }

    private static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
