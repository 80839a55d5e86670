import Resilience

/// A failure of the message bus. ``isRetriable`` says whether the same operation may succeed later
/// (a broker restarting, a rebalance) or will fail again (bad configuration, a message too large).
public struct BusError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case brokerUnavailable  // no broker answered in time
        case deliveryFailed     // the broker did not acknowledge one or more messages
        case topicCreation      // a topic could not be created
        case metadata           // cluster metadata could not be read
        case configuration      // an invalid setting; fix the configuration
        case consumeFailed      // the consumer hit an unrecoverable error
        case commitFailed       // offsets were not committed; the messages will be delivered again
        case closed             // the bus or consumer was already closed
    }

    public var code: Code
    /// What went wrong, safe to log: it never contains a secret configuration value.
    public var message: String
    public var isRetriable: Bool
    /// librdkafka's error name (e.g. `_MSG_TIMED_OUT`), when the failure came from librdkafka.
    public var kafkaErrorName: String?

    public init(_ code: Code, _ message: String, isRetriable: Bool, kafkaErrorName: String? = nil) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.kafkaErrorName = kafkaErrorName
    }

    public var description: String {
        "\(code.rawValue)\(kafkaErrorName.map { " [\($0)]" } ?? ""): \(message)"
    }
}
