import Foundation

/// Chooses the next token from a row of logits (temperature, top-k, top-p).
public struct Sampler: Sendable {
    /// The sampling settings.
    public var options: SamplingOptions
    private var rng: SeededGenerator

    /// A sampler for sequence `stream` of a run seeded with `options.seed`.
    public init(options: SamplingOptions, stream: UInt64 = 0) {
        self.options = options
        self.rng = SeededGenerator(seed: options.seed &+ 0x9E37_79B9_7F4A_7C15 &* (stream &+ 1))
    }

    /// Samples a token from `logits` (V values); returns it with its log-probability under the
    /// plain softmax of the logits.
    public mutating func sample(_ logits: UnsafePointer<Float>, count V: Int) -> (token: Int32, logProb: Float) {
        var maxv = -Float.greatestFiniteMagnitude
        var argmax = 0
        for j in 0..<V where logits[j] > maxv {
            maxv = logits[j]
            argmax = j
        }
        var sum: Double = 0
        for j in 0..<V { sum += Double(expf(logits[j] - maxv)) }
        let logZ = Float(log(sum)) + maxv
        let token: Int
        if options.temperature <= 0 {
            token = argmax
        } else {
            let invT = 1 / options.temperature
            var probs = [Float](repeating: 0, count: V)
            var total: Float = 0
            for j in 0..<V {
                probs[j] = expf((logits[j] - maxv) * invT)
                total += probs[j]
            }
            var candidates: [Int]
            if options.topK > 0 || options.topP < 1 {
                candidates = Array(0..<V).sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
                if options.topK > 0 && options.topK < V { candidates.removeLast(V - options.topK) }
                if options.topP < 1 {
                    let kept = candidates.reduce(Float(0)) { $0 + probs[$1] }
                    var cumulative: Float = 0
                    var cut = candidates.count
                    for (i, j) in candidates.enumerated() {
                        cumulative += probs[j] / kept
                        if cumulative >= options.topP {
                            cut = i + 1
                            break
                        }
                    }
                    candidates.removeLast(candidates.count - cut)
                }
                total = candidates.reduce(Float(0)) { $0 + probs[$1] }
            } else {
                candidates = Array(0..<V)
            }
            let u = Float(rng.nextUniform()) * total
            var cumulative: Float = 0
            var chosen = candidates.last!
            for j in candidates {
                cumulative += probs[j]
                if u < cumulative {
                    chosen = j
                    break
                }
            }
            token = chosen
        }
        return (Int32(token), logits[token] - logZ)
    }
}
