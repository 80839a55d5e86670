/// How `Transformer.generate` picks tokens.
public struct SamplingOptions: Codable, Equatable, Sendable {
    /// Softmax temperature; 0 means greedy (argmax). Default: 1.0
    public var temperature: Float = 1.0
    /// Keep only the k most likely tokens; 0 disables. Default: 0
    public var topK: Int = 0
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches p; 1 disables. Default: 1.0
    public var topP: Float = 1.0
    /// Most tokens generated per sequence (generation also stops at the context length). Default: 128
    public var maxNewTokens: Int = 128
    /// Generation of a sequence ends after it samples one of these (the stop token is kept). Default: []
    public var stopTokens: Set<Int32> = []
    /// Seed of the sampler; sequence i uses a generator derived from (seed, i), so the same seed
    /// and prompts give the same output. Default: 0
    public var seed: UInt64 = 0

    public init(temperature: Float = 1.0, topK: Int = 0, topP: Float = 1.0, maxNewTokens: Int = 128,
                stopTokens: Set<Int32> = [], seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.maxNewTokens = maxNewTokens
        self.stopTokens = stopTokens
        self.seed = seed
    }
}
