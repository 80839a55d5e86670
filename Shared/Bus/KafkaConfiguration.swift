import Foundation
import Settings

/// How to reach the Kafka cluster. Services get it from `ServiceOptions`, which reads the environment.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    /// Default: "127.0.0.1:19092"
    public var brokers: String
    /// Default: "cdra"
    public var clientID: String
    /// A consumer that sends no heartbeat for this long leaves its group.
    /// Default: 6000
    public var sessionTimeoutMs: Int = 6000
    /// Must be well below ``sessionTimeoutMs`` (Kafka advises a third of it).
    /// Default: 1000
    public var heartbeatIntervalMs: Int = 1000
    /// Replication factor of topics created by ``KafkaBus/createTopic(_:partitions:)``; -1 means
    /// the broker's `default.replication.factor`.
    /// Default: -1
    public var replicationFactor: Int = -1
    /// Extra librdkafka properties passed through unchanged, applied last so they override the
    /// defaults above: `security.protocol`, `sasl.*`, `ssl.*`, `message.timeout.ms`, `linger.ms`...
    /// Values are never logged (see ``redactedProperties``).
    /// Default: empty
    public var properties: [String: String] = [:]

    public init(brokers: String = "127.0.0.1:19092", clientID: String = "cdra",
                sessionTimeoutMs: Int = 6000, heartbeatIntervalMs: Int = 1000,
                replicationFactor: Int = -1, properties: [String: String] = [:]) {
        self.brokers = brokers
        self.clientID = clientID
        self.sessionTimeoutMs = sessionTimeoutMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.replicationFactor = replicationFactor
        self.properties = properties
    }

    /// Checks the invariants librdkafka would otherwise report late or vaguely.
    public func validate() throws {
        var problems: [String] = []
        if brokers.trimmingCharacters(in: .whitespaces).isEmpty { problems.append("brokers is empty") }
        if sessionTimeoutMs <= 0 { problems.append("sessionTimeoutMs must be positive (is \(sessionTimeoutMs))") }
        if heartbeatIntervalMs <= 0 || heartbeatIntervalMs >= sessionTimeoutMs {
            problems.append("heartbeatIntervalMs (\(heartbeatIntervalMs)) must be positive and below sessionTimeoutMs (\(sessionTimeoutMs))")
        }
        if replicationFactor == 0 || replicationFactor < -1 { problems.append("replicationFactor must be -1 or positive (is \(replicationFactor))") }
        if !problems.isEmpty {
            throw BusError(.configuration, problems.joined(separator: "; "), isRetriable: false)
        }
    }

    /// ``properties`` with secret values replaced by the redaction marker, for logs.
    public var redactedProperties: [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = Redaction.isSecretName(entry.key) ? Redaction.marker : entry.value
        }
    }
}
