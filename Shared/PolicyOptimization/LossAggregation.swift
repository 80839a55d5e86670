/// How per-token losses of a batch are summed into one (Docs/algorithms.md, "Loss aggregation"):
/// loss = Σ_i Σ_t w_{i,t} · ℓ_{i,t}.
///
/// - `sequenceMean`: w = 1 / (N · |y_i|), each sequence's mean, then the mean over N sequences
///   (short sequences weigh more per token: the length bias).
/// - `tokenMean`: w = 1 / Σ_i |y_i|, every token of the batch alike.
/// - `constant(C)`: w = 1 / (N · C), a fixed normalizer (no length bias, independent of the batch's
///   lengths, as "loss averaged without length bias" in DESIGN §7 asks).
public enum LossAggregation: Sendable, Equatable {
    case sequenceMean
    case tokenMean
    case constant(Double)

    /// The weight of each token of sequences of these lengths.
    public func weights(lengths: [Int]) -> [Double] {
        let n = Double(lengths.count)
        switch self {
        case .sequenceMean:
            return lengths.map { $0 == 0 ? 0 : 1 / (n * Double($0)) }
        case .tokenMean:
            let total = Double(lengths.reduce(0, +))
            return lengths.map { _ in total == 0 ? 0 : 1 / total }
        case let .constant(c):
            precondition(c > 0, "the constant normalizer must be positive")
            return lengths.map { _ in 1 / (n * c) }
        }
    }
}
