import LanguageModel

/// The order RL prompts are drawn in: the train items in a fresh seeded shuffle each epoch, read
/// by a cursor, so the prompts of any step follow from the seed and the cursor alone.
public struct PromptOrder: Sendable {
    public let count: Int
    public let seed: UInt64
    private var permutations: [Int: [Int]] = [:]

    public init(count: Int, seed: UInt64) {
        precondition(count > 0, "no prompts to draw from")
        self.count = count
        self.seed = seed
    }

    /// Item indices at cursor positions `cursor..<cursor + n`.
    public mutating func indices(cursor: Int, count n: Int) -> [Int] {
        (cursor..<(cursor + n)).map { position in
            let epoch = position / count
            if permutations[epoch] == nil {
                var rng = SeededGenerator(seed: seed ^ (0xA5A5_5A5A_0F0F_F0F0 &* UInt64(epoch + 1)))
                var p = Array(0..<count)
                for i in stride(from: count - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    p.swapAt(i, j)
                }
                permutations[epoch] = p
                permutations = permutations.filter { $0.key >= epoch - 1 }
            }
            return permutations[epoch]![position % count]
        }
    }
}
