/// Settings of one benchmark build. Invariants are checked by ``DeepPrefBuilder``.
public struct DeepPrefBuildConfig: Sendable, Equatable {
    /// Total pairs, spread evenly over the pack's topics.
    /// Default: 3000
    public var pairs = 3000
    /// Seed of the SplitMix64 generator; the same seed gives byte-identical output.
    /// Default: 1
    public var seed: UInt64 = 1
    /// Probability that a query also carries a distractor sentence.
    /// Default: 0.35
    public var distractorRate = 0.35
    /// Probability that one hidden preference is cued by a trailing clause instead of a sentence.
    /// Default: 0.4
    public var clauseRate = 0.4
    /// Share of each topic in the validation split and in the test split (the rest is train).
    /// Default: 0.1
    public var heldOutFraction = 0.1
    /// Candidate queries tried per accepted pair before the builder gives up (pack too small).
    /// Default: 200
    public var maxAttemptsPerPair = 200

    public init(pairs: Int = 3000, seed: UInt64 = 1) {
        self.pairs = pairs
        self.seed = seed
    }
}
