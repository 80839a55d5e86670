import Foundation
import Tensor

/// KV cache and row buffers for incremental decoding.
///
/// Each row of a decode call is one (sequence slot, position, token). All rows of a layer write
/// their keys and values into the cache before any row attends, so one call can prefill prompts
/// of different lengths (rows of the same slot see each other causally) or advance every
/// sequence by one token.
final class InferenceWorkspace {
    let slots: Int
    let maxT: Int
    let keys: Tensor      // (L, slots, maxT, C)
    let values: Tensor    // (L, slots, maxT, C)
    private(set) var capacity = 0
    var x = Tensor(shape: [0]), h = Tensor(shape: [0]), tmp = Tensor(shape: [0])   // (R,C)
    var y = Tensor(shape: [0])                                                     // (R,C)
    var qkv = Tensor(shape: [0])                                                   // (R,3C)
    var fch = Tensor(shape: [0])                                                   // (R,4C)
    var mean = Tensor(shape: [0]), rstd = Tensor(shape: [0])                       // (R)
    var scores = Tensor(shape: [0])                                                // (R, maxT)
    var outputs = Tensor(shape: [0])                                               // (R,C) rows whose logits are wanted
    var logits = Tensor(shape: [0])                                                // (R,V)

    init(config c: TransformerConfig, slots: Int) {
        self.slots = slots
        self.maxT = c.contextLength
        keys = Tensor(shape: [c.layerCount, slots, c.contextLength, c.channelCount])
        values = Tensor(shape: [c.layerCount, slots, c.contextLength, c.channelCount])
    }

    func reserve(rows R: Int, config c: TransformerConfig) {
        if R <= capacity { return }
        let C = c.channelCount
        x = Tensor(shape: [R, C]); h = Tensor(shape: [R, C]); tmp = Tensor(shape: [R, C]); y = Tensor(shape: [R, C])
        qkv = Tensor(shape: [R, 3 * C]); fch = Tensor(shape: [R, 4 * C])
        mean = Tensor(shape: [R]); rstd = Tensor(shape: [R])
        scores = Tensor(shape: [R, maxT])
        outputs = Tensor(shape: [R, C]); logits = Tensor(shape: [R, c.vocabularySize])
        capacity = R
    }
}

extension Transformer {
    /// Runs `tokens[r]` at `positions[r]` of sequence `slots[r]` through the model using the KV
    /// cache; returns logits (one row of V per entry of `outputRows`) in the workspace.
    func decodeRows(_ ws: InferenceWorkspace, slots: [Int], positions: [Int], tokens: [Int32],
                    outputRows: [Int]) -> UnsafeMutablePointer<Float> {
        let R = tokens.count
        let C = config.channelCount, L = config.layerCount, NH = config.headCount, V = config.vocabularySize
        let hs = C / NH, maxT = ws.maxT, S = ws.slots
        let scale = 1 / sqrtf(Float(hs))
        ws.reserve(rows: R, config: config)
        let p = ParameterViews(self)
        let x = ws.x.data, h = ws.h.data, qkv = ws.qkv.data, y = ws.y.data, tmp = ws.tmp.data, fch = ws.fch.data
        // x is (R,C): token + position embedding of each row
        for r in 0..<R {
            let e = p.wte + Int(tokens[r]) * C, q = p.wpe + positions[r] * C, o = x + r * C
            for i in 0..<C { o[i] = e[i] + q[i] }
        }
        for l in 0..<L {
            layernormForward(h, ws.mean.data, ws.rstd.data, x, p.ln1w + l * C, p.ln1b + l * C, R, C)
            matmulForward(qkv, h, p.qkvw + l * 3 * C * C, p.qkvb + l * 3 * C, R, C, 3 * C)
            let kc = ws.keys.data + l * S * maxT * C, vc = ws.values.data + l * S * maxT * C
            for r in 0..<R {
                let dst = (slots[r] * maxT + positions[r]) * C
                (kc + dst).update(from: qkv + r * 3 * C + C, count: C)
                (vc + dst).update(from: qkv + r * 3 * C + 2 * C, count: C)
            }
            parallelChunks(R, minimumPerChunk: 4) { rowStart, rowEnd in
            for r in rowStart..<rowEnd {
                let n = positions[r] + 1
                let sc = ws.scores.data + r * maxT
                let kBase = kc + slots[r] * maxT * C, vBase = vc + slots[r] * maxT * C
                for head in 0..<NH {
                    // scores (n) = K[0..<n, head] · q * scale
                    BLAS.sgemv(transA: false, m: n, n: hs, alpha: scale, a: kBase + head * hs, lda: C,
                               x: qkv + r * 3 * C + head * hs, beta: 0, y: sc)
                    var maxv = -Float.greatestFiniteMagnitude
                    for j in 0..<n where sc[j] > maxv { maxv = sc[j] }
                    var sum: Float = 0
                    for j in 0..<n {
                        sc[j] = fastExp(sc[j] - maxv)
                        sum += sc[j]
                    }
                    // out (hs) = V[0..<n, head]ᵀ · softmax
                    BLAS.sgemv(transA: true, m: n, n: hs, alpha: 1 / sum, a: vBase + head * hs, lda: C,
                               x: sc, beta: 0, y: y + r * C + head * hs)
                }
            }
            }
            matmulForward(tmp, y, p.attprojw + l * C * C, p.attprojb + l * C, R, C, C)
            addInPlace(x, tmp, R * C)
            layernormForward(h, ws.mean.data, ws.rstd.data, x, p.ln2w + l * C, p.ln2b + l * C, R, C)
            matmulForward(fch, h, p.fcw + l * 4 * C * C, p.fcb + l * 4 * C, R, C, 4 * C)
            geluForward(fch, fch, R * 4 * C)
            matmulForward(tmp, fch, p.fcprojw + l * C * 4 * C, p.fcprojb + l * C, R, 4 * C, C)
            addInPlace(x, tmp, R * C)
        }
        let O = outputRows.count
        for (i, r) in outputRows.enumerated() { (ws.outputs.data + i * C).update(from: x + r * C, count: C) }
        layernormForward(ws.h.data, ws.mean.data, ws.rstd.data, ws.outputs.data, p.lnfw, p.lnfb, O, C)
        matmulForward(ws.logits.data, ws.h.data, p.wte, nil, O, C, V)
        return ws.logits.data
    }

    func inferenceWorkspace(slots: Int) -> InferenceWorkspace {
        if let ws = inference, ws.slots >= slots { return ws }
        let ws = InferenceWorkspace(config: config, slots: slots)
        inference = ws
        return ws
    }
}
