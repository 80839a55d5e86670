import Foundation

private let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)

/// GELU, tanh approximation (GPT-2): out = 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))).
public func geluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ N: Int) {
    // inp and out are (N)
    parallelChunks(N, minimumPerChunk: 16384) { start, end in
        for i in start..<end {
            let x = inp[i]
            let cube: Float = 0.044715 * x * x * x
            out[i] = 0.5 * x * (1 + fastTanh(geluScale * (x + cube)))
        }
    }
}

/// Adds the gradient of `geluForward` into `dinp`.
public func geluBackward(_ dinp: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ dout: UnsafePointer<Float>, _ N: Int) {
    parallelChunks(N, minimumPerChunk: 16384) { start, end in
        for i in start..<end {
            let x = inp[i]
            let u = geluScale * (x + 0.044715 * x * x * x)
            let th = fastTanh(u)
            let sech2 = 1 - th * th
            // d/dx of 0.5 x (1 + tanh(u)) = 0.5 (1 + tanh u) + 0.5 x sech²(u) u'
            let local = 0.5 * (1 + th) + 0.5 * x * sech2 * geluScale * (1 + 3 * 0.044715 * x * x)
            dinp[i] += local * dout[i]
        }
    }
}
