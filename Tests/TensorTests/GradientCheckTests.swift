import Foundation
import Testing
import Tensor

// Finite-difference checks: every kernel's backward against central differences of its forward.
// The scalar objective is Σ r·out with fixed random r, so every output element matters.

private struct Rand {
    var state: UInt64
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1   // [-1, 1)
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

/// Compares `analytic` with central differences of `objective` at `x`; returns the largest error
/// relative to max(1e-2, |numeric|).
private func maxRelativeError(_ x: inout [Float], analytic: [Float], h: Float = 1e-2,
                              objective: ([Float]) -> Double) -> Double {
    var worst = 0.0
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + h
        let up = objective(x)
        x[i] = saved - h
        let down = objective(x)
        x[i] = saved
        let numeric = (up - down) / Double(2 * h)
        let err = abs(numeric - Double(analytic[i])) / max(1e-2, abs(numeric))
        worst = max(worst, err)
    }
    return worst
}

private func dot(_ a: [Float], _ b: UnsafePointer<Float>) -> Double {
    var s = 0.0
    for i in a.indices { s += Double(a[i]) * Double(b[i]) }
    return s
}

@Test func layernormBackwardMatchesFiniteDifferences() {
    var r = Rand(state: 1)
    let N = 3, C = 8
    var inp = r.array(N * C, scale: 2), w = r.array(C), b = r.array(C)
    let proj = r.array(N * C)
    let out = Tensor(shape: [N * C]), mean = Tensor(shape: [N]), rstd = Tensor(shape: [N])
    func f(_ i: [Float], _ w: [Float], _ b: [Float]) -> Double {
        layernormForward(out.data, mean.data, rstd.data, i, w, b, N, C)
        return dot(proj, out.data)
    }
    _ = f(inp, w, b)
    var dinp = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = [Float](repeating: 0, count: C)
    layernormBackward(&dinp, &dw, &db, proj, inp, w, mean.data, rstd.data, N, C)
    let e1 = maxRelativeError(&inp, analytic: dinp) { f($0, w, b) }
    let e2 = maxRelativeError(&w, analytic: dw) { f(inp, $0, b) }
    let e3 = maxRelativeError(&b, analytic: db) { f(inp, w, $0) }
    print("layernorm max rel err dinp \(e1) dw \(e2) db \(e3)")
    #expect(e1 < 2e-2 && e2 < 2e-2 && e3 < 2e-2)
}

@Test func matmulBackwardMatchesFiniteDifferences() {
    var r = Rand(state: 2)
    let N = 4, C = 5, OC = 6
    var inp = r.array(N * C), w = r.array(OC * C), b = r.array(OC)
    let proj = r.array(N * OC)
    let out = Tensor(shape: [N * OC])
    func f(_ i: [Float], _ w: [Float], _ b: [Float]) -> Double {
        matmulForward(out.data, i, w, b, N, C, OC)
        return dot(proj, out.data)
    }
    var dinp = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: OC * C), db = [Float](repeating: 0, count: OC)
    matmulBackward(&dinp, &dw, &db, proj, inp, w, N, C, OC)
    let e1 = maxRelativeError(&inp, analytic: dinp) { f($0, w, b) }
    let e2 = maxRelativeError(&w, analytic: dw) { f(inp, $0, b) }
    let e3 = maxRelativeError(&b, analytic: db) { f(inp, w, $0) }
    print("matmul max rel err dinp \(e1) dw \(e2) db \(e3)")
    #expect(e1 < 1e-2 && e2 < 1e-2 && e3 < 1e-2)
}

@Test func attentionBackwardMatchesFiniteDifferences() {
    var r = Rand(state: 3)
    let B = 2, T = 5, C = 8, NH = 2
    var qkv = r.array(B * T * 3 * C)
    let proj = r.array(B * T * C)
    let out = Tensor(shape: [B * T * C]), att = Tensor(shape: [B * NH * T * T])
    func f(_ x: [Float]) -> Double {
        attentionForward(out.data, att.data, x, B, T, C, NH)
        return dot(proj, out.data)
    }
    _ = f(qkv)
    // causality: row t of every head sums to one and has zeros after t
    for bh in 0..<(B * NH) {
        for t in 0..<T {
            var s: Float = 0
            for j in 0..<T {
                s += att[bh * T * T + t * T + j]
                if j > t { #expect(att[bh * T * T + t * T + j] == 0) }
            }
            #expect(abs(s - 1) < 1e-5)
        }
    }
    var dqkv = [Float](repeating: 0, count: B * T * 3 * C)
    let scratch = Tensor(shape: [B * NH * T * T])
    attentionBackward(&dqkv, scratch.data, proj, qkv, att.data, B, T, C, NH)
    let e = maxRelativeError(&qkv, analytic: dqkv) { f($0) }
    print("attention max rel err dqkv \(e)")
    #expect(e < 2e-2)
}

@Test func geluAndResidualBackwardMatchFiniteDifferences() {
    var r = Rand(state: 4)
    let N = 20
    var x = r.array(N, scale: 3)
    let proj = r.array(N)
    let out = Tensor(shape: [N])
    func f(_ x: [Float]) -> Double {
        geluForward(out.data, x, N)
        return dot(proj, out.data)
    }
    _ = f(x)
    var dx = [Float](repeating: 0, count: N)
    geluBackward(&dx, x, proj, N)
    let e = maxRelativeError(&x, analytic: dx, h: 1e-3) { f($0) }
    print("gelu max rel err \(e)")
    #expect(e < 1e-2)

    var a = r.array(N), b = r.array(N)
    func g(_ a: [Float], _ b: [Float]) -> Double {
        residualForward(out.data, a, b, N)
        return dot(proj, out.data)
    }
    var da = [Float](repeating: 0, count: N), db = [Float](repeating: 0, count: N)
    residualBackward(&da, &db, proj, N)
    #expect(maxRelativeError(&a, analytic: da) { g($0, b) } < 1e-2)
    #expect(maxRelativeError(&b, analytic: db) { g(a, $0) } < 1e-2)
}

@Test func encoderBackwardMatchesFiniteDifferences() {
    var r = Rand(state: 5)
    let B = 2, T = 3, C = 4, V = 5
    let inp: [Int32] = [1, 4, 1, 0, 2, 1]   // token 1 repeats: its gradient must accumulate
    var wte = r.array(V * C), wpe = r.array(T * C)
    let proj = r.array(B * T * C)
    let out = Tensor(shape: [B * T * C])
    func f(_ e: [Float], _ p: [Float]) -> Double {
        encoderForward(out.data, inp, e, p, B, T, C)
        return dot(proj, out.data)
    }
    var dwte = [Float](repeating: 0, count: V * C), dwpe = [Float](repeating: 0, count: T * C)
    encoderBackward(&dwte, &dwpe, proj, inp, B, T, C)
    #expect(maxRelativeError(&wte, analytic: dwte) { f($0, wpe) } < 1e-2)
    #expect(maxRelativeError(&wpe, analytic: dwpe) { f(wte, $0) } < 1e-2)
}

@Test func maskedWeightedCrossEntropyBackwardMatchesFiniteDifferences() {
    var r = Rand(state: 6)
    let N = 5, V = 7
    var logits = r.array(N * V, scale: 3)
    let targets: [Int32] = [3, -1, 0, 6, 2]          // position 1 has no target
    let weights: [Float] = [0.5, 0.9, -1.25, 0, 2]    // signed; position 3 masked by weight 0
    let losses = Tensor(shape: [N]), probs = Tensor(shape: [N * V])
    func f(_ l: [Float]) -> Double {
        crossEntropyForward(losses.data, probs.data, l, targets, N, V)
        var s = 0.0
        for i in 0..<N { s += Double(weights[i]) * Double(losses[i]) }
        return s
    }
    _ = f(logits)
    #expect(losses[1] == 0)
    // loss equals -log softmax computed directly
    var z: Float = 0
    for j in 0..<V { z += expf(logits[j]) }
    #expect(abs(losses[0] - (logf(z) - logits[3])) < 1e-5)
    var dlogits = [Float](repeating: 0, count: N * V)
    crossEntropyBackward(&dlogits, probs.data, targets, weights, N, V)
    for j in 0..<V { #expect(dlogits[1 * V + j] == 0 && dlogits[3 * V + j] == 0) }
    let e = maxRelativeError(&logits, analytic: dlogits, h: 1e-2) { f($0) }
    print("cross-entropy (masked, signed weights) max rel err \(e)")
    #expect(e < 1e-2)
}

@Test func blockedAttentionMatchesNaiveAttentionOverSeveralBlocks() {
    // T = 150 spans three query blocks (64, 64, 22) of attentionBlockRows
    var r = Rand(state: 7)
    let B = 1, T = 150, C = 8, NH = 2, hs = 4
    var qkv = r.array(B * T * 3 * C)
    let out = Tensor(shape: [B * T * C]), att = Tensor(shape: [B * NH * T * T])
    attentionForward(out.data, att.data, qkv, B, T, C, NH)
    var worst: Float = 0
    for h in 0..<NH {
        for t in 0..<T {
            var scores = [Float](repeating: 0, count: t + 1)
            for j in 0...t {
                var s: Float = 0
                for d in 0..<hs { s += qkv[t * 3 * C + h * hs + d] * qkv[j * 3 * C + C + h * hs + d] }
                scores[j] = s / Float(hs).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { expf($0 - m) }
            let z = e.reduce(0, +)
            for d in 0..<hs {
                var y: Float = 0
                for j in 0...t { y += e[j] / z * qkv[j * 3 * C + 2 * C + h * hs + d] }
                worst = max(worst, abs(y - out[t * C + h * hs + d]))
            }
        }
    }
    print("blocked attention vs naive max |diff| \(worst)")
    #expect(worst < 1e-5)
    // gradient of a projection of the output, checked by finite differences on a sample of inputs
    let proj = r.array(B * T * C)
    var dqkv = [Float](repeating: 0, count: qkv.count)
    let scratch = Tensor(shape: [B * NH * T * T])
    attentionBackward(&dqkv, scratch.data, proj, qkv, att.data, B, T, C, NH)
    func f(_ x: [Float]) -> Double {
        attentionForward(out.data, att.data, x, B, T, C, NH)
        return dot(proj, out.data)
    }
    var worstGrad = 0.0
    for i in stride(from: 5, to: qkv.count, by: 37) {
        let saved = qkv[i]
        qkv[i] = saved + 1e-2
        let up = f(qkv)
        qkv[i] = saved - 1e-2
        let down = f(qkv)
        qkv[i] = saved
        let numeric = (up - down) / 2e-2
        worstGrad = max(worstGrad, abs(numeric - Double(dqkv[i])) / max(1e-2, abs(numeric)))
    }
    print("blocked attention max rel err dqkv \(worstGrad)")
    #expect(worstGrad < 2e-2)
}
