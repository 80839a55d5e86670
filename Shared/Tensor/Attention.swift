import Foundation

/// Query rows per attention block (see `attentionForward`).
public let attentionBlockRows = 64

/// Multiply-adds of one head's causal attention products per key dimension, summed over blocks:
/// Σ rows·keys. `attentionForward` runs 2·hs of them per head, the backward pass 4·hs.
public func attentionBlockArea(_ T: Int) -> Int {
    var area = 0, r0 = 0
    while r0 < T {
        let r1 = min(T, r0 + attentionBlockRows)
        area += (r1 - r0) * r1
        r0 = r1
    }
    return area
}

/// Multi-head causal self-attention on a fused qkv activation.
///
/// Per (batch, head) it is two `sgemm`s: scores = Q·Kᵀ/√hs, then out = softmax(scores)·V.
/// The heads are column slices of `qkv` (row stride 3C) and of `out` (row stride C), so no data is
/// copied. Query rows go in blocks of `attentionBlockRows`; a block only multiplies the keys up to
/// its last row, so most of the masked upper triangle is never computed (for T = 256, 62% of the
/// square), while each product stays large enough for OpenBLAS to run at speed.
public func attentionForward(
    _ out: UnsafeMutablePointer<Float>, _ att: UnsafeMutablePointer<Float>,
    _ qkv: UnsafePointer<Float>, _ B: Int, _ T: Int, _ C: Int, _ NH: Int
) {
    // qkv is (B,T,3C) holding Q,K,V; att is (B,NH,T,T) post-softmax; out is (B,T,C)
    let hs = C / NH
    let scale = 1 / sqrtf(Float(hs))
    forEachHead(B * NH) { bh in
        let b = bh / NH, h = bh % NH
            let q = qkv + b * T * 3 * C + h * hs
            let k = q + C
            let v = q + 2 * C
            let a = att + (b * NH + h) * T * T
            var r0 = 0
            while r0 < T {
                // scores[r0..<r1, 0..<r1] = scale · Q[r0..<r1] · K[0..<r1]ᵀ
                let r1 = min(T, r0 + attentionBlockRows)
                BLAS.sgemm(transA: false, transB: true, m: r1 - r0, n: r1, k: hs, alpha: scale, a: q + r0 * 3 * C, lda: 3 * C,
                           b: k, ldb: 3 * C, beta: 0, c: a + r0 * T, ldc: T)
                r0 = r1
            }
            causalSoftmaxRows(a, T)
            r0 = 0
            while r0 < T {
                // out[r0..<r1] = att[r0..<r1, 0..<r1] · V[0..<r1]
                let r1 = min(T, r0 + attentionBlockRows)
                BLAS.sgemm(transA: false, transB: false, m: r1 - r0, n: hs, k: r1, alpha: 1, a: a + r0 * T, lda: T,
                           b: v, ldb: 3 * C, beta: 0, c: out + b * T * C + r0 * C + h * hs, ldc: C)
                r0 = r1
            }
    }
}

/// Runs `body` for every (batch, head) index; heads go to different workers, each making
/// single-threaded BLAS calls (unless OpenBLAS does its own threading).
private func forEachHead(_ count: Int, _ body: (Int) -> Void) {
    if BLAS.openBLASThreading || ParallelSettings.workerCount <= 1 {
        for i in 0..<count { body(i) }
    } else {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
}

/// Row t keeps columns 0...t (softmax over them); columns after t become 0.
private func causalSoftmaxRows(_ a: UnsafeMutablePointer<Float>, _ T: Int) {
    do {
        for t in 0..<T {
            let row = a + t * T
            var maxv = -Float.greatestFiniteMagnitude
            for j in 0...t where row[j] > maxv { maxv = row[j] }
            var sum: Float = 0
            for j in 0...t {
                let e = fastExp(row[j] - maxv)
                row[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0...t { row[j] *= inv }
            for j in (t + 1)..<max(t + 1, T) { row[j] = 0 }
        }
    }
}

/// Adds the gradient of `attentionForward` into `dqkv`. `scratch` is (B,NH,T,T) workspace.
public func attentionBackward(
    _ dqkv: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
    _ dout: UnsafePointer<Float>, _ qkv: UnsafePointer<Float>, _ att: UnsafePointer<Float>,
    _ B: Int, _ T: Int, _ C: Int, _ NH: Int
) {
    // dout is (B,T,C), qkv and dqkv are (B,T,3C), att is (B,NH,T,T)
    let hs = C / NH
    let scale = 1 / sqrtf(Float(hs))
    forEachHead(B * NH) { bh in
        let b = bh / NH, h = bh % NH
            let q = qkv + b * T * 3 * C + h * hs
            let k = q + C
            let v = q + 2 * C
            let dq = dqkv + b * T * 3 * C + h * hs
            let dk = dq + C
            let dv = dq + 2 * C
            let a = att + (b * NH + h) * T * T
            let da = scratch + (b * NH + h) * T * T
            let dO = dout + b * T * C + h * hs
            // forward was out = att · V: datt = dout · Vᵀ, dV += attᵀ · dout (block by block)
            var r0 = 0
            while r0 < T {
                let r1 = min(T, r0 + attentionBlockRows)
                BLAS.sgemm(transA: false, transB: true, m: r1 - r0, n: r1, k: hs, alpha: 1, a: dO + r0 * C, lda: C,
                           b: v, ldb: 3 * C, beta: 0, c: da + r0 * T, ldc: T)
                BLAS.sgemm(transA: true, transB: false, m: r1, n: hs, k: r1 - r0, alpha: 1, a: a + r0 * T, lda: T,
                           b: dO + r0 * C, ldb: C, beta: 1, c: dv, ldc: 3 * C)
                r0 = r1
            }
            // forward was att = softmax(pre) over j ≤ t: dpre = att * (datt - Σ_j att·datt)
            do {
                for t in 0..<T {
                    let ar = a + t * T, dr = da + t * T
                    var dot: Float = 0
                    for j in 0...t { dot += ar[j] * dr[j] }
                    for j in 0...t { dr[j] = ar[j] * (dr[j] - dot) }
                    for j in (t + 1)..<max(t + 1, T) { dr[j] = 0 }
                }
            }
            // forward was pre = scale · Q · Kᵀ: dQ += scale · dpre · K, dK += scale · dpreᵀ · Q
            r0 = 0
            while r0 < T {
                let r1 = min(T, r0 + attentionBlockRows)
                BLAS.sgemm(transA: false, transB: false, m: r1 - r0, n: hs, k: r1, alpha: scale, a: da + r0 * T, lda: T,
                           b: k, ldb: 3 * C, beta: 1, c: dq + r0 * 3 * C, ldc: 3 * C)
                BLAS.sgemm(transA: true, transB: false, m: r1, n: hs, k: r1 - r0, alpha: scale, a: da + r0 * T, lda: T,
                           b: q + r0 * 3 * C, ldb: 3 * C, beta: 1, c: dk, ldc: 3 * C)
                r0 = r1
            }
    }
}
