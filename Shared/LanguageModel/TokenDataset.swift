/// A token stream cut into training windows: batches of B rows of T inputs and the T next tokens.
public struct TokenDataset: Sendable {
    /// The whole token stream.
    public let tokens: [Int32]

    public init(tokens: [Int32]) { self.tokens = tokens }

    /// Number of non-overlapping windows of `T + 1` tokens.
    public func windowCount(sequenceLength T: Int) -> Int { max(0, (tokens.count - 1) / T) }

    /// A batch of `B` windows starting at random offsets (uniform over the stream).
    public func randomBatch(batchSize B: Int, sequenceLength T: Int, rng: inout SeededGenerator) -> TokenBatch {
        precondition(tokens.count > T + 1, "dataset of \(tokens.count) tokens is too short for windows of \(T + 1)")
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(B * T)
        targets.reserveCapacity(B * T)
        for _ in 0..<B {
            let start = Int(rng.next() % UInt64(tokens.count - T - 1))
            inputs += tokens[start..<(start + T)]
            targets += tokens[(start + 1)..<(start + T + 1)]
        }
        return TokenBatch(batchSize: B, sequenceLength: T, inputs: inputs, targets: targets)
    }

    /// The i-th of the non-overlapping windows, as batches of up to `B` rows, in order: used for
    /// a deterministic validation loss over the whole stream.
    public func sequentialBatches(batchSize B: Int, sequenceLength T: Int) -> [TokenBatch] {
        let n = windowCount(sequenceLength: T)
        var batches: [TokenBatch] = []
        var w = 0
        while w < n {
            let rows = min(B, n - w)
            var inputs = [Int32](), targets = [Int32]()
            for r in 0..<rows {
                let start = (w + r) * T
                inputs += tokens[start..<(start + T)]
                targets += tokens[(start + 1)..<(start + T + 1)]
            }
            batches.append(TokenBatch(batchSize: rows, sequenceLength: T, inputs: inputs, targets: targets))
            w += rows
        }
        return batches
    }

    /// Mean next-token loss of `model` over all windows (weighting every token equally).
    public func meanLoss(model: Transformer, batchSize B: Int, sequenceLength T: Int) throws -> Float {
        var total: Double = 0
        var count = 0
        for batch in sequentialBatches(batchSize: B, sequenceLength: T) {
            let n = batch.batchSize * batch.sequenceLength
            total += Double(try model.forward(batch)) * Double(n)
            count += n
        }
        return count > 0 ? Float(total / Double(count)) : .nan
    }

    /// Unigram entropy of the stream in nats per token: the loss of a model that knows only
    /// token frequencies. A trained model must beat it.
    public func unigramEntropy() -> Double {
        var counts: [Int32: Int] = [:]
        for t in tokens { counts[t, default: 0] += 1 }
        let n = Double(tokens.count)
        return counts.values.reduce(0.0) { h, c in
            let p = Double(c) / n
            return h - p * log(p)
        }
    }
}

import Foundation
