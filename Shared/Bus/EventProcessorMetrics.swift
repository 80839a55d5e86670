/// Counters of an ``EventProcessor`` since it started.
public struct EventProcessorMetrics: Sendable, Equatable {
    /// Events the handler accepted.
    public var processed = 0
    /// Messages published to the dead-letter topic (undecodable or rejected by the handler).
    public var deadLettered = 0
    /// Handler calls repeated after a retriable error.
    public var retries = 0
    /// Batches whose offsets were committed.
    public var batches = 0
    /// Commits refused (usually by a rebalance); those messages are delivered again.
    public var commitFailures = 0

    public init() {}
}
