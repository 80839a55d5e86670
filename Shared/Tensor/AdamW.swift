import Foundation

/// AdamW state (first and second moments) for one flat parameter buffer.
public final class AdamW {
    /// Hyper-parameters.
    public var config: AdamWConfig
    /// Number of updates applied so far.
    public private(set) var stepCount = 0
    /// First moment, same layout as the parameters.
    public let m: Tensor
    /// Second moment, same layout as the parameters.
    public let v: Tensor

    /// - Parameter parameterCount: length of the flat parameter buffer it will update.
    public init(parameterCount: Int, config: AdamWConfig = AdamWConfig()) {
        self.config = config
        self.m = Tensor(shape: [parameterCount])
        self.v = Tensor(shape: [parameterCount])
    }

    /// Puts back a saved state (a checkpoint's step count and moments), so training resumes
    /// exactly where it stopped. `m` and `v` must have the optimizer's length.
    public func restore(stepCount: Int, m firstMoment: [Float], v secondMoment: [Float]) {
        precondition(stepCount >= 0 && firstMoment.count == m.count && secondMoment.count == v.count,
                     "the saved optimizer state does not fit this optimizer")
        self.stepCount = stepCount
        firstMoment.withUnsafeBufferPointer { m.data.update(from: $0.baseAddress!, count: m.count) }
        secondMoment.withUnsafeBufferPointer { v.data.update(from: $0.baseAddress!, count: v.count) }
    }

    /// One update of `params` from `grads`.
    ///
    /// - Parameter decayRanges: element ranges of `params` that get weight decay (the matrices;
    ///   biases and norm gains do not).
    public func update(
        params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>, count: Int,
        learningRate: Float, decayRanges: [Range<Int>]
    ) {
        precondition(count == m.count)
        stepCount += 1
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        let c1 = 1 - powf(b1, Float(stepCount))
        let c2 = 1 - powf(b2, Float(stepCount))
        let mp = m.data, vp = v.data
        let decayed = decayRanges.sorted { $0.lowerBound < $1.lowerBound }
        var cursor = 0
        func run(_ range: Range<Int>, decay: Float) {
            for i in range {
                let g = grads[i]
                let mi = b1 * mp[i] + (1 - b1) * g
                let vi = b2 * vp[i] + (1 - b2) * g * g
                mp[i] = mi
                vp[i] = vi
                let mhat = mi / c1, vhat = vi / c2
                params[i] -= learningRate * (mhat / (sqrtf(vhat) + eps) + decay * params[i])
            }
        }
        for r in decayed {
            if cursor < r.lowerBound { run(cursor..<r.lowerBound, decay: 0) }
            run(r, decay: config.weightDecay)
            cursor = r.upperBound
        }
        if cursor < count { run(cursor..<count, decay: 0) }
    }
}
