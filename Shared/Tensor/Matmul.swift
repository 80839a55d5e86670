/// out = inp · weightᵀ + bias, one `sgemm`.
public func matmulForward(
    _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
    _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    _ N: Int, _ C: Int, _ OC: Int
) {
    // inp is (N,C), weight is (OC,C), bias is (OC), out is (N,OC)
    BLAS.parallelSgemm(transA: false, transB: true, m: N, n: OC, k: C, alpha: 1, a: inp, lda: C,
               b: weight, ldb: C, beta: 0, c: out, ldc: OC)
    if let bias {
        for i in 0..<N {
            let o = out + i * OC
            for j in 0..<OC { o[j] += bias[j] }
        }
    }
}

/// Adds the gradients of `matmulForward` into `dinp`, `dweight` and (if given) `dbias`.
public func matmulBackward(
    _ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>, _ dbias: UnsafeMutablePointer<Float>?,
    _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
    _ N: Int, _ C: Int, _ OC: Int
) {
    // dout is (N,OC), inp is (N,C), weight is (OC,C)
    // forward was out = inp · Wᵀ, so dinp += dout · W and dW += doutᵀ · inp
    if let dinp {
        BLAS.parallelSgemm(transA: false, transB: false, m: N, n: C, k: OC, alpha: 1, a: dout, lda: OC,
                   b: weight, ldb: C, beta: 1, c: dinp, ldc: C)
    }
    BLAS.parallelSgemm(transA: true, transB: false, m: OC, n: C, k: N, alpha: 1, a: dout, lda: OC,
               b: inp, ldb: C, beta: 1, c: dweight, ldc: C)
    if let dbias {
        // dbias += column sums of dout
        for i in 0..<N {
            let d = dout + i * OC
            for j in 0..<OC { dbias[j] += d[j] }
        }
    }
}
