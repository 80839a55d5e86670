import Foundation
import Testing
import Tensor

@Test func adamWStepMatchesTheFormula() {
    let params: [Float] = [0.5, -1.0, 2.0, 0.25]
    let grads: [Float] = [0.1, -0.2, 0.3, 0.0]
    var p = params
    let opt = AdamW(parameterCount: 4, config: AdamWConfig(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.5))
    // decay on elements 0..<2 only
    opt.update(params: &p, grads: grads, count: 4, learningRate: 0.1, decayRanges: [0..<2])
    for i in 0..<4 {
        let m = 0.1 * grads[i], v = 0.01 * grads[i] * grads[i]
        let mhat = m / 0.1, vhat = v / 0.01
        let decay: Float = i < 2 ? 0.5 : 0
        let expected = params[i] - 0.1 * (mhat / (vhat.squareRoot() + 1e-8) + decay * params[i])
        #expect(abs(p[i] - expected) < 1e-6, "element \(i): \(p[i]) vs \(expected)")
    }
    #expect(opt.stepCount == 1)
}

@Test func clippingScalesToTheMaximumNorm() {
    var g: [Float] = [3, 4]
    let norm = clipGradients(&g, 2, maxNorm: 1)
    #expect(abs(norm - 5) < 1e-6)
    #expect(abs(gradientNorm(g, 2) - 1) < 1e-5)
    var small: [Float] = [0.3, 0.4]
    clipGradients(&small, 2, maxNorm: 1)
    #expect(small == [0.3, 0.4])
}

@Test func scheduleWarmsUpThenDecaysToTheFloor() {
    let s = LearningRateSchedule(maxRate: 1, minRate: 0.1, warmupSteps: 4, totalSteps: 14)
    #expect(s.rate(at: 0) == 0.25)
    #expect(s.rate(at: 3) == 1)
    #expect(abs(s.rate(at: 9) - 0.55) < 1e-6)      // halfway through the cosine
    #expect(abs(s.rate(at: 14) - 0.1) < 1e-6)
    #expect((5..<14).allSatisfy { s.rate(at: $0) <= s.rate(at: $0 - 1) })
}

@Test func stridedBatchedSgemmMatchesNaiveProducts() {
    // two 2x3 · 3x2 products, B transposed
    let a: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    let b: [Float] = [1, 0, 2, 0, 1, 1, 2, 1, 0, 1, 1, 1]    // each (2,3), used as Bᵀ
    var c = [Float](repeating: 0, count: 8)
    BLAS.sgemmStridedBatched(transA: false, transB: true, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, strideA: 6,
                             b: b, ldb: 3, strideB: 6, beta: 0, c: &c, ldc: 2, strideC: 4, batchCount: 2)
    var expected = [Float](repeating: 0, count: 8)
    for batch in 0..<2 {
        for i in 0..<2 {
            for j in 0..<2 {
                var s: Float = 0
                for k in 0..<3 { s += a[batch * 6 + i * 3 + k] * b[batch * 6 + j * 3 + k] }
                expected[batch * 4 + i * 2 + j] = s
            }
        }
    }
    #expect(c == expected)
}

@Test func fastExpAndTanhMatchLibm() {
    var worstExp: Float = 0, worstTanh: Float = 0
    var x: Float = -80
    while x < 80 {
        worstExp = max(worstExp, abs(fastExp(x) - expf(x)) / expf(x))
        worstTanh = max(worstTanh, abs(fastTanh(x / 8) - tanhf(x / 8)))
        x += 0.0137
    }
    print("fastExp max rel err \(worstExp), fastTanh max abs err \(worstTanh)")
    #expect(worstExp < 1e-6 && worstTanh < 1e-6)
    #expect(fastExp(-200) >= 0 && fastExp(-200) < 1e-37 && fastExp(200).isFinite)
}
