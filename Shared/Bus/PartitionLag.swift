/// How far a consumer group is behind on one partition.
public struct PartitionLag: Sendable, Equatable {
    public var topicPartition: TopicPartition
    /// The next offset the group will read; nil when it never committed on this partition.
    public var committed: Int64?
    /// The offset after the partition's last message (the high watermark).
    public var endOffset: Int64
    /// Messages not yet committed by the group: `endOffset - (committed ?? start of log)`.
    /// Informational only: some brokers (Tansu 0.6) report high watermarks late.
    public var lag: Int64

    public init(topicPartition: TopicPartition, committed: Int64?, endOffset: Int64, lag: Int64) {
        self.topicPartition = topicPartition
        self.committed = committed
        self.endOffset = endOffset
        self.lag = lag
    }
}
