import Foundation

/// Softmax + cross-entropy per position.
///
/// `losses[i] = -log softmax(logits[i])[targets[i]]`; a negative target means "no target" and
/// gives loss 0. `probs` keeps the softmax for the backward pass.
public func crossEntropyForward(
    _ losses: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
    _ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Int32>, _ N: Int, _ V: Int
) {
    // logits and probs are (N,V), targets and losses are (N)
    parallelChunks(N, minimumPerChunk: 8) { start, end in
        for i in start..<end {
            let l = logits + i * V, p = probs + i * V
            var maxv = -Float.greatestFiniteMagnitude
            for j in 0..<V where l[j] > maxv { maxv = l[j] }
            var sum: Float = 0
            for j in 0..<V {
                let e = fastExp(l[j] - maxv)
                p[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0..<V { p[j] *= inv }
            let y = Int(targets[i])
            // log-sum-exp form keeps the loss exact even when p[y] underflows
            losses[i] = y >= 0 ? (logf(sum) + maxv - l[y]) : 0
        }
    }
}

/// Adds the gradient of `Σ_i weights[i] · losses[i]` into `dlogits`.
///
/// The weights make one kernel serve every objective: a 0/1 loss mask divided by its count for
/// supervised training, or signed per-token advantages for policy gradients
/// (minimising Σ w·(−log π) ascends Σ w·log π).
public func crossEntropyBackward(
    _ dlogits: UnsafeMutablePointer<Float>, _ probs: UnsafePointer<Float>,
    _ targets: UnsafePointer<Int32>, _ weights: UnsafePointer<Float>, _ N: Int, _ V: Int
) {
    // forward was loss = -log p[y]; d loss/d logit_j = p_j - 1[j == y]
    parallelChunks(N, minimumPerChunk: 8) { start, end in
        for i in start..<end {
            let y = Int(targets[i])
            let w = weights[i]
            if y < 0 || w == 0 { continue }
            let d = dlogits + i * V, p = probs + i * V
            for j in 0..<V { d[j] += w * p[j] }
            d[y] -= w
        }
    }
}
