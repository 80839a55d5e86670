import Foundation

/// LayerNorm over the last dimension; saves mean and 1/std per row for the backward pass.
public func layernormForward(
    _ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
    _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
    _ N: Int, _ C: Int
) {
    // inp is (N,C), out is (N,C), mean and rstd are (N)
    let eps: Float = 1e-5
    parallelChunks(N, minimumPerChunk: 64) { start, end in
        for i in start..<end {
            let x = inp + i * C
            var m: Float = 0
            for j in 0..<C { m += x[j] }
            m /= Float(C)
            var v: Float = 0
            for j in 0..<C {
                let d = x[j] - m
                v += d * d
            }
            v /= Float(C)
            let s = 1 / sqrtf(v + eps)
            let o = out + i * C
            for j in 0..<C { o[j] = (x[j] - m) * s * weight[j] + bias[j] }
            mean[i] = m
            rstd[i] = s
        }
    }
}

/// Adds the gradients of `layernormForward` into `dinp`, `dweight`, `dbias`.
public func layernormBackward(
    _ dinp: UnsafeMutablePointer<Float>, _ dweight: UnsafeMutablePointer<Float>, _ dbias: UnsafeMutablePointer<Float>,
    _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
    _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, _ N: Int, _ C: Int
) {
    // dout, inp, dinp are (N,C); dweight, dbias are (C)
    // The row part runs in parallel; dweight/dbias are summed over rows serially to stay race-free.
    parallelChunks(N, minimumPerChunk: 64) { start, end in
        for i in start..<end {
            let x = inp + i * C, d = dout + i * C, dx = dinp + i * C
            let m = mean[i], s = rstd[i]
            // forward was: norm = (x - mean) * rstd; out = norm * w + b
            var dnormMean: Float = 0
            var dnormNormMean: Float = 0
            for j in 0..<C {
                let norm = (x[j] - m) * s
                let dnorm = weight[j] * d[j]
                dnormMean += dnorm
                dnormNormMean += dnorm * norm
            }
            dnormMean /= Float(C)
            dnormNormMean /= Float(C)
            for j in 0..<C {
                let norm = (x[j] - m) * s
                let dnorm = weight[j] * d[j]
                // dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
                dx[j] += (dnorm - dnormMean - norm * dnormNormMean) * s
            }
        }
    }
    for i in 0..<N {
        let x = inp + i * C, d = dout + i * C
        let m = mean[i], s = rstd[i]
        for j in 0..<C {
            dbias[j] += d[j]
            dweight[j] += (x[j] - m) * s * d[j]
        }
    }
}
