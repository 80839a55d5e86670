/// One value of a training curve (`training_metrics`).
public struct TrainingPoint: Sendable, Equatable {
    public let runID: String
    public let metric: String
    public let step: Int
    public let value: Double

    public init(runID: String, metric: String, step: Int, value: Double) {
        self.runID = runID
        self.metric = metric
        self.step = step
        self.value = value
    }
}
