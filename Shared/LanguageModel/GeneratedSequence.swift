/// One sequence produced by `Transformer.generate`.
public struct GeneratedSequence: Equatable, Sendable {
    /// Why generation of this sequence ended.
    public enum FinishReason: String, Sendable, Codable {
        /// A stop token was sampled (it is the last entry of `tokens`).
        case stop
        /// `maxNewTokens` or the context length was reached.
        case length
    }

    /// The sampled tokens (the prompt not included).
    public var tokens: [Int32]
    /// log p(token) of each sampled token under the model's unmodified distribution
    /// (temperature 1, no top-k/top-p), as PPO ratios need.
    public var logProbs: [Float]
    /// Why generation ended.
    public var finishReason: FinishReason
}

/// What a generation guide does after a sampled token (``Transformer/generate(prompts:options:guide:)``).
public enum GuidedStep: Equatable, Sendable {
    /// Sample the next token.
    case proceed
    /// Feed these tokens after the sampled one, then sample.
    case feed([Int32])
    /// End the sequence here (finish reason `.stop`).
    case finish
}
