import Foundation

/// Global L2 norm of a gradient buffer (accumulated in Double so large models stay exact).
public func gradientNorm(_ grads: UnsafePointer<Float>, _ count: Int) -> Float {
    var sum: Double = 0
    var i = 0
    // chunked float sums, folded into a double, keep the loop vectorizable
    while i < count {
        let end = min(count, i + 4096)
        var s: Float = 0
        for j in i..<end { s += grads[j] * grads[j] }
        sum += Double(s)
        i = end
    }
    return Float(sum.squareRoot())
}

/// Scales gradients so their global norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradients(_ grads: UnsafeMutablePointer<Float>, _ count: Int, maxNorm: Float) -> Float {
    let norm = gradientNorm(grads, count)
    if maxNorm > 0 && norm > maxNorm {
        let s = maxNorm / (norm + 1e-6)
        for i in 0..<count { grads[i] *= s }
    }
    return norm
}
