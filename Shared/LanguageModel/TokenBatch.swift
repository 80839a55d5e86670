/// A batch of token sequences of equal length for a training or scoring pass.
public struct TokenBatch: Sendable {
    /// Number of sequences (B).
    public var batchSize: Int
    /// Tokens per sequence (T), at most the model's context length.
    public var sequenceLength: Int
    /// Input token ids, (B,T) row-major.
    public var inputs: [Int32]
    /// Next-token targets, (B,T); a negative id marks a position that has no target (padding).
    public var targets: [Int32]
    /// Per-position weights of the loss, (B,T). The loss is Σ w·(−log p(target)).
    /// `nil` means: mean over positions that have a target.
    /// Use a 0/1 mask divided by its count to train on response tokens only, or signed per-token
    /// coefficients (advantages) for policy gradients.
    public var weights: [Float]?

    public init(batchSize: Int, sequenceLength: Int, inputs: [Int32], targets: [Int32], weights: [Float]? = nil) {
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.inputs = inputs
        self.targets = targets
        self.weights = weights
    }

    /// Packs variable-length sequences (each the tokens of one text) into a padded batch where
    /// position t predicts token t+1. `lossMasks[i][t]` (optional, same length as sequence i)
    /// says whether token t of sequence i is trained on (e.g. only the response); the loss is the
    /// mean over trained tokens.
    public init(sequences: [[Int32]], lossMasks: [[Bool]]? = nil, padToken: Int32 = 0) {
        let T = max(1, (sequences.map(\.count).max() ?? 2) - 1)
        let B = sequences.count
        var inputs = [Int32](repeating: padToken, count: B * T)
        var targets = [Int32](repeating: -1, count: B * T)
        var weights = [Float](repeating: 0, count: B * T)
        var trained = 0
        for (b, seq) in sequences.enumerated() where seq.count >= 1 {
            for t in 0..<min(T, seq.count) { inputs[b * T + t] = seq[t] }
            for t in 0..<max(0, seq.count - 1) where t < T {
                if let masks = lossMasks, !masks[b][t + 1] { continue }
                targets[b * T + t] = seq[t + 1]
                weights[b * T + t] = 1
                trained += 1
            }
        }
        if trained > 0 { for i in weights.indices { weights[i] /= Float(trained) } }
        self.init(batchSize: B, sequenceLength: T, inputs: inputs, targets: targets, weights: weights)
    }
}
