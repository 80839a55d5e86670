/// AdamW hyper-parameters.
public struct AdamWConfig: Codable, Equatable, Sendable {
    /// Default: 0.9
    public var beta1: Float = 0.9
    /// Default: 0.95
    public var beta2: Float = 0.95
    /// Default: 1e-8
    public var epsilon: Float = 1e-8
    /// Decoupled weight decay, applied only where the parameter's decay flag is set. Default: 0.1
    public var weightDecay: Float = 0.1

    public init(beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}
