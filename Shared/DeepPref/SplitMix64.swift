/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator whose output is fixed by the
/// algorithm, so a benchmark built from a seed is byte-identical on every machine and Swift version.
/// The standard library's `random(in:using:)` is avoided on purpose: its mapping from raw bits to a
/// range is an implementation detail that may change between releases.
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 raw bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (rejection sampling, no modulo bias). `bound` must be > 0.
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        let limit = UInt64.max - (UInt64.max % b)
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// One element, uniformly. `items` must not be empty.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[int(below: items.count)]
    }

    /// Fisher–Yates, drawing from this generator only.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = int(below: i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    /// `count` distinct elements in random order (fewer when `items` is shorter).
    public mutating func sample<T>(_ items: [T], count: Int) -> [T] {
        var copy = items
        shuffle(&copy)
        return Array(copy.prefix(count))
    }
}
