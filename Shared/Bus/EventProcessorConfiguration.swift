import Events
import Resilience

/// How an ``EventProcessor`` polls, retries and dead-letters.
public struct EventProcessorConfiguration: Sendable {
    /// Most messages handed to the handler at once.
    /// Default: 500
    public var maxBatch = 500 {
        didSet { precondition(maxBatch > 0, "maxBatch must be positive") }
    }
    /// How long one poll waits for messages; also how quickly cancellation is noticed when idle.
    /// Default: 200 ms
    public var pollTimeout: Duration = .milliseconds(200)
    /// When set, a batch is collected for up to this long after its first message arrived, until
    /// it holds ``maxBatch`` messages: a micro-batch for handlers that work best on several events
    /// at once (the critic's batched generation). Nil hands over what one poll returns.
    /// Default: nil
    public var maxWait: Duration? = nil {
        didSet { precondition((maxWait ?? .zero) >= .zero, "maxWait must not be negative") }
    }
    /// Retries of a batch after a retriable handler error; nil retries until it succeeds or the
    /// task is cancelled. When exhausted, ``EventProcessor/run()`` throws the error and commits
    /// nothing, so the batch is delivered again after a restart.
    /// Default: nil (forever)
    public var maxRetries: Int? = nil {
        didSet { precondition((maxRetries ?? 0) >= 0, "maxRetries must not be negative") }
    }
    /// Waits between retries of a failing batch.
    /// Default: Backoff(initial: 100 ms, maximum: 10 s, jitter: 0.2)
    public var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10)) {
        didSet { precondition(backoff.initial > .zero, "the initial backoff must be positive") }
    }
    /// Decodes and validates each message (size limit included).
    /// Default: EventCodec() (1 MiB limit)
    public var codec = EventCodec()
    /// When set, ``EventProcessor/run()`` first creates its topic with this many partitions (an
    /// existing topic is left as it is), so a consumer can start before any producer.
    /// Default: nil (the topic must exist or be created by someone else)
    public var topicPartitions: Int? = nil {
        didSet { precondition((topicPartitions ?? 1) > 0, "topicPartitions must be positive") }
    }
    /// Partitions of the `<topic>.dlq` topic, created on the first dead letter.
    /// Default: 1
    public var deadLetterPartitions = 1 {
        didSet { precondition(deadLetterPartitions > 0, "deadLetterPartitions must be positive") }
    }
    /// Original bytes kept in a dead letter; larger values are truncated so the record itself stays
    /// below the broker's message size limit.
    /// Default: 512 KiB
    public var deadLetterMaxValueBytes = 512 * 1024 {
        didSet { precondition(deadLetterMaxValueBytes >= 0, "deadLetterMaxValueBytes must not be negative") }
    }

    public init(maxBatch: Int = 500, pollTimeout: Duration = .milliseconds(200), maxRetries: Int? = nil,
                initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(10),
                codec: EventCodec = EventCodec()) {
        precondition(maxBatch > 0, "maxBatch must be positive")
        precondition((maxRetries ?? 0) >= 0, "maxRetries must not be negative")
        precondition(initialBackoff > .zero && maxBackoff >= initialBackoff, "backoff must be positive, max at least initial")
        self.maxBatch = maxBatch
        self.pollTimeout = pollTimeout
        self.maxRetries = maxRetries
        self.backoff = Backoff(initial: initialBackoff, maximum: maxBackoff)
        self.codec = codec
    }
}
