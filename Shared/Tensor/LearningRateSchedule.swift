import Foundation

/// Linear warmup, then cosine decay to a floor.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    /// Peak learning rate. Default: 3e-4
    public var maxRate: Float = 3e-4
    /// Final learning rate. Default: 3e-5
    public var minRate: Float = 3e-5
    /// Steps of linear warmup. Default: 100
    public var warmupSteps: Int = 100
    /// Total training steps (the cosine reaches `minRate` here). Default: 1000
    public var totalSteps: Int = 1000

    public init(maxRate: Float = 3e-4, minRate: Float = 3e-5, warmupSteps: Int = 100, totalSteps: Int = 1000) {
        self.maxRate = maxRate
        self.minRate = minRate
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Learning rate for the 0-based `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return maxRate * Float(step + 1) / Float(warmupSteps) }
        if step >= totalSteps { return minRate }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let cosine = 0.5 * (1 + cos(Double.pi * progress))
        return minRate + Float(cosine) * (maxRate - minRate)
    }
}
