import LanguageModel
import PolicyOptimization

/// The gradient of the policy loss through the transformer (Docs/algorithms.md, "Policy loss"):
///
///   L = Σ_i w_i Σ_t loss(A_{i,t}, ℓ_{i,t}, ℓ_old, ℓ_ref)        (ClippedObjective per token)
///
/// A forward pass gives every response token's log-probability ℓ; ∂L/∂ℓ follows per token from
/// the objective; the backward pass with per-position weights −∂L/∂ℓ is then exactly ∇θ L,
/// because the transformer's backward is that of Σ w·(−ℓ). Micro-batches accumulate.
public enum PolicyGradient {
    /// One sequence: its prompt, its sampled tokens, their advantages and its aggregation weight w_i.
    public struct Sequence: Sendable {
        public var prompt: [Int32]
        public var response: [Int32]
        public var advantages: [Double]
        public var weight: Double

        public init(prompt: [Int32], response: [Int32], advantages: [Double], weight: Double) {
            precondition(!prompt.isEmpty && advantages.count == response.count, "a prompt, and one advantage per response token")
            self.prompt = prompt
            self.response = response
            self.advantages = advantages
            self.weight = weight
        }
    }

    public struct Pass: Sendable {
        /// L at the current weights.
        public var loss = 0.0
        /// ℓ of every response token at the current weights.
        public var logProbs: [[Float]] = []
        public var tokens = 0
        public var meanKL = 0.0
        public var meanEntropy = 0.0
        public var clipFraction = 0.0
    }

    /// ℓ of every response token under `model` (forward passes only).
    public static func responseLogProbs(_ model: Transformer, _ sequences: [Sequence], microBatch: Int) throws -> [[Float]] {
        var out: [[Float]] = []
        for chunk in chunks(sequences, microBatch) {
            let batch = TokenBatch(sequences: chunk.map { $0.prompt + $0.response })
            try model.forward(batch)
            out += responseValues(model.tokenLogProbs, chunk, batch.sequenceLength)
        }
        return out
    }

    /// Adds ∇θ L into `model.gradients` (call `zeroGradients()` first) and returns L with its
    /// figures. `old` nil: ℓ_old = ℓ (the weights that sampled are the current ones).
    public static func accumulate(_ model: Transformer, _ sequences: [Sequence], old: [[Float]]?, reference: [[Float]],
                                  objective: ClippedObjective, microBatch: Int, entropy: Bool = false) throws -> Pass {
        precondition(reference.count == sequences.count && (old?.count ?? sequences.count) == sequences.count)
        var pass = Pass()
        var klSum = 0.0, entropySum = 0.0, clipped = 0
        var index = 0
        for chunk in chunks(sequences, microBatch) {
            let batch = TokenBatch(sequences: chunk.map { $0.prompt + $0.response })
            let T = batch.sequenceLength
            try model.forward(batch)
            let current = responseValues(model.tokenLogProbs, chunk, T)
            if entropy { entropySum += responseValues(model.tokenEntropies, chunk, T).joined().reduce(0.0) { $0 + Double($1) } }
            var w = [Float](repeating: 0, count: batch.batchSize * T)
            for (b, seq) in chunk.enumerated() {
                let i = index + b
                for k in 0..<seq.response.count {
                    let l = Double(current[b][k])
                    let t = objective.token(advantage: seq.advantages[k], logProb: l, oldLogProb: old.map { Double($0[i][k]) } ?? l,
                                            referenceLogProb: Double(reference[i][k]))
                    w[b * T + seq.prompt.count - 1 + k] = Float(-seq.weight * t.gradient)
                    pass.loss += seq.weight * t.loss
                    klSum += t.kl
                    if t.clipped { clipped += 1 }
                    pass.tokens += 1
                }
            }
            model.backward(weights: w)
            pass.logProbs += current
            index += chunk.count
        }
        if pass.tokens > 0 {
            pass.meanKL = klSum / Double(pass.tokens)
            pass.meanEntropy = entropySum / Double(pass.tokens)
            pass.clipFraction = Double(clipped) / Double(pass.tokens)
        }
        return pass
    }

    static func chunks(_ sequences: [Sequence], _ size: Int) -> [[Sequence]] {
        stride(from: 0, to: sequences.count, by: max(1, size)).map { Array(sequences[$0..<min(sequences.count, $0 + max(1, size))]) }
    }

    /// The values of response positions: token k of sequence b is predicted at position |prompt| − 1 + k.
    static func responseValues(_ all: [Float], _ chunk: [Sequence], _ T: Int) -> [[Float]] {
        chunk.enumerated().map { b, seq in (0..<seq.response.count).map { k in all[b * T + seq.prompt.count - 1 + k] } }
    }
}
