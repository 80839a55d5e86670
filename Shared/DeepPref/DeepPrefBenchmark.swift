/// The output of one build: every pair with its split, and the perturbed copy of the test split.
public struct DeepPrefBenchmark: Sendable, Equatable {
    public var pairs: [DeepPrefPair]
    /// Test pairs re-worded with held-out cue paraphrases and an extra distractor (split `test_perturbed`).
    public var perturbedTest: [DeepPrefPair]

    public init(pairs: [DeepPrefPair], perturbedTest: [DeepPrefPair]) {
        self.pairs = pairs
        self.perturbedTest = perturbedTest
    }

    public func split(_ name: String) -> [DeepPrefPair] { pairs.filter { $0.split == name } }
}
