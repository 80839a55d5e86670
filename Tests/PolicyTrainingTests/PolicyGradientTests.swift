import Foundation
import LanguageModel
import PolicyOptimization
import PolicyTraining
import Testing

/// The policy loss's gradient through the transformer equals central finite differences of the
/// loss, for the clipped surrogate alone, the KL term alone, and both.
@Suite struct PolicyGradientTests {
    static let config = TransformerConfig(vocabularySize: 48, contextLength: 24, layerCount: 1, headCount: 2, channelCount: 16)

    struct Case {
        var model: Transformer
        var sequences: [PolicyGradient.Sequence]
        var old: [[Float]]
        var reference: [[Float]]
    }

    /// Random sequences; ℓ_old shifted by −0.6, 0 or +0.6 from ℓ so some ratios sit beyond each
    /// clip bound and none near one; the reference is another model.
    static func makeCase(zeroAdvantages: Bool) throws -> Case {
        let model = try Transformer(config: config, seed: 11)
        let reference = try Transformer(config: config, seed: 12)
        var rng = SeededGenerator(seed: 5)
        let sequences = (0..<5).map { i -> PolicyGradient.Sequence in
            let prompt = (0..<(2 + i % 3)).map { _ in Int32(rng.next() % 48) }
            let response = (0..<(4 + i)).map { _ in Int32(rng.next() % 48) }
            let advantages = response.map { _ in zeroAdvantages ? 0 : rng.nextGaussian() }
            return PolicyGradient.Sequence(prompt: prompt, response: response, advantages: advantages, weight: 1 / Double(5 * 8))
        }
        let current = try PolicyGradient.responseLogProbs(model, sequences, microBatch: 2)
        let shifts: [Float] = [-0.6, 0, 0.6]
        let old = current.enumerated().map { i, row in row.enumerated().map { k, l in l + shifts[(i + k) % 3] } }
        return Case(model: model, sequences: sequences, old: old,
                    reference: try PolicyGradient.responseLogProbs(reference, sequences, microBatch: 2))
    }

    static func check(_ c: Case, objective: ClippedObjective) throws -> (compared: Int, clipped: Double) {
        let model = c.model
        model.zeroGradients()
        let pass = try PolicyGradient.accumulate(model, c.sequences, old: c.old, reference: c.reference, objective: objective, microBatch: 2)
        let analytic = model.gradients.toArray()
        func loss() throws -> Double {
            try PolicyGradient.accumulate(model, c.sequences, old: c.old, reference: c.reference, objective: objective, microBatch: 2).loss
        }
        var rng = SeededGenerator(seed: 99)
        let h: Float = 2e-3
        var compared = 0
        // Every parameter tensor, a few entries each, and the largest gradients.
        var indices = model.layout.entries.flatMap { e in (0..<3).map { _ in e.offset + Int(rng.next() % UInt64(e.count)) } }
        indices += analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(10)
        for i in indices {
            let saved = model.parameters[i]
            model.parameters[i] = saved + h
            let plus = try loss()
            model.parameters[i] = saved - h
            let minus = try loss()
            model.parameters[i] = saved
            let numeric = (plus - minus) / Double(2 * h)
            let g = Double(analytic[i])
            #expect(abs(numeric - g) <= 2e-3 + 0.03 * abs(g), "parameter \(i): analytic \(g), finite difference \(numeric)")
            compared += 1
        }
        #expect(analytic.contains { abs($0) > 1e-3 }, "the gradient is not all zero")
        return (compared, pass.clipFraction)
    }

    @Test func clippedSurrogate() throws {
        let result = try Self.check(try Self.makeCase(zeroAdvantages: false), objective: ClippedObjective(beta: 0))
        #expect(result.compared > 40)
        #expect(result.clipped > 0.1, "some tokens are clipped, so the check covers the clip")
    }

    @Test func klTerm() throws {
        _ = try Self.check(try Self.makeCase(zeroAdvantages: true), objective: ClippedObjective(beta: 0.5))
    }

    @Test func surrogateAndKL() throws {
        _ = try Self.check(try Self.makeCase(zeroAdvantages: false), objective: ClippedObjective(beta: 0.1))
    }

    @Test func microBatchesAccumulateTheSameGradient() throws {
        let c = try Self.makeCase(zeroAdvantages: false)
        func gradient(_ microBatch: Int) throws -> [Float] {
            c.model.zeroGradients()
            _ = try PolicyGradient.accumulate(c.model, c.sequences, old: c.old, reference: c.reference,
                                              objective: ClippedObjective(), microBatch: microBatch)
            return c.model.gradients.toArray()
        }
        let one = try gradient(1), all = try gradient(5)
        let worst = zip(one, all).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5)
    }
}
