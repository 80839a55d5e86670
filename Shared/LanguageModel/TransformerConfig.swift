/// Shape of a decoder-only transformer (GPT-2 layout: pre-norm LayerNorm, GELU MLP, learned
/// positions, LM head tied to the token embedding).
public struct TransformerConfig: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Tokens in the vocabulary (embedding rows). Default: 2048
    public var vocabularySize = 2048
    /// Longest sequence the model sees (rows of the position embedding). Default: 256
    public var contextLength = 256
    /// Transformer blocks. Default: 4
    public var layerCount = 4
    /// Attention heads per block; must divide `channelCount`. Default: 4
    public var headCount = 4
    /// Width of the residual stream (d_model). Default: 256
    public var channelCount = 256

    public init(vocabularySize: Int = 2048, contextLength: Int = 256, layerCount: Int = 4,
                headCount: Int = 4, channelCount: Int = 256) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layerCount = layerCount
        self.headCount = headCount
        self.channelCount = channelCount
    }

    /// The benchmark and default policy size: d_model 256, 4 layers, 4 heads, context 256, vocab 2048.
    public static let standard = TransformerConfig()
    /// A smaller model for quick experiments: d_model 128, 2 layers, 4 heads, context 128, vocab 1024.
    public static let small = TransformerConfig(vocabularySize: 1024, contextLength: 128, layerCount: 2,
                                                headCount: 4, channelCount: 128)
    /// The largest size the design allows: d_model 384, 6 layers, 6 heads, context 512, vocab 4096.
    public static let large = TransformerConfig(vocabularySize: 4096, contextLength: 512, layerCount: 6,
                                                headCount: 6, channelCount: 384)

    /// Named presets, for command-line flags.
    public static let presets: [String: TransformerConfig] = ["small": .small, "standard": .standard, "large": .large]

    /// Throws unless every dimension is positive and heads divide the width.
    public func validate() throws {
        guard vocabularySize > 0, contextLength > 0, layerCount > 0, headCount > 0, channelCount > 0,
              channelCount % headCount == 0 else {
            throw ModelError(.invalidConfiguration, "invalid transformer config: \(self)")
        }
    }

    /// Total number of parameters.
    public var parameterCount: Int { ParameterLayout(self).totalCount }

    public var description: String {
        "TransformerConfig(vocab \(vocabularySize), context \(contextLength), layers \(layerCount), heads \(headCount), d_model \(channelCount), \(parameterCount) params)"
    }
}
