/// Training batches of sequences of similar length, so little compute goes to padding.
public enum LengthBuckets {
    /// Batches of similar length, each padded to its length bucket (a multiple of ``bucketTokens``).
    /// Batches of one bucket run in runs of up to 32, the runs shuffled: the model reallocates its
    /// activations only when the shape changes, so about once per run instead of every step.
    public static func plan(_ order: [Int], lengths: [Int], batchSize: Int, contextPlusOne: Int,
                            rng: inout SeededGenerator) -> [(items: [Int], length: Int)] {
        var byBucket: [Int: [Int]] = [:]
        for i in order { byBucket[bucket(lengths[i], limit: contextPlusOne), default: []].append(i) }
        var runs: [[(items: [Int], length: Int)]] = []
        for (length, members) in byBucket.sorted(by: { $0.key < $1.key }) {
            var batches: [(items: [Int], length: Int)] = []
            var i = 0
            while i + batchSize <= members.count {
                batches.append((Array(members[i..<(i + batchSize)]), length))
                i += batchSize
            }
            var r = 0
            while r < batches.count {
                runs.append(Array(batches[r..<min(batches.count, r + 32)]))
                r += 32
            }
        }
        runs.shuffle(using: &rng)
        return runs.flatMap { $0 }
    }

    /// Tokens per length bucket. Default: 128
    public static let bucketTokens = 128

    public static func bucket(_ length: Int, limit: Int) -> Int {
        min(limit, (length + bucketTokens - 1) / bucketTokens * bucketTokens)
    }

    /// A batch whose sequences are padded (untrained) to `length` tokens.
    public static func paddedBatch(_ items: [(tokens: [Int32], mask: [Bool])], length: Int, pad: Int32) -> TokenBatch {
        TokenBatch(sequences: items.map { $0.tokens + [Int32](repeating: pad, count: max(0, length - $0.tokens.count)) },
                   lossMasks: items.map { $0.mask + [Bool](repeating: false, count: max(0, length - $0.mask.count)) },
                   padToken: pad)
    }

}
