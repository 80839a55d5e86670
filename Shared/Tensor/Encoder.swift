// Token + learned position embedding.
//
// Learned absolute positions (GPT-2) rather than RoPE: the context is short and fixed (≤ 512), the
// KV cache then stores plain keys, and the reference implementation stays a few lines of numpy.

/// out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]
public func encoderForward(
    _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Int32>,
    _ wte: UnsafePointer<Float>, _ wpe: UnsafePointer<Float>, _ B: Int, _ T: Int, _ C: Int
) {
    // inp is (B,T) token ids, wte is (V,C), wpe is (maxT,C), out is (B,T,C)
    for b in 0..<B {
        for t in 0..<T {
            let o = out + (b * T + t) * C
            let e = wte + Int(inp[b * T + t]) * C
            let p = wpe + t * C
            for i in 0..<C { o[i] = e[i] + p[i] }
        }
    }
}

/// Adds the embedding gradients of `encoderForward` into `dwte` and `dwpe`.
public func encoderBackward(
    _ dwte: UnsafeMutablePointer<Float>, _ dwpe: UnsafeMutablePointer<Float>,
    _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Int32>, _ B: Int, _ T: Int, _ C: Int
) {
    // dout is (B,T,C); forward was out = wte[tok] + wpe[t], so both rows receive dout.
    for b in 0..<B {
        for t in 0..<T {
            let d = dout + (b * T + t) * C
            let e = dwte + Int(inp[b * T + t]) * C
            let p = dwpe + t * C
            for i in 0..<C {
                e[i] += d[i]
                p[i] += d[i]
            }
        }
    }
}
