import Foundation

/// How to reach the Kafka cluster. Read from the environment in one place, ``fromEnvironment(_:)``.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    /// Default: "127.0.0.1:19092"; env CDRA_KAFKA_BROKERS
    public var brokers: String
    /// Default: "cdra"; env CDRA_KAFKA_CLIENT_ID
    public var clientID: String
    /// A consumer that sends no heartbeat for this long leaves its group.
    /// Default: 6000; env CDRA_KAFKA_SESSION_TIMEOUT_MS
    public var sessionTimeoutMs: Int = 6000
    /// Must be well below ``sessionTimeoutMs`` (Kafka advises a third of it).
    /// Default: 1000; env CDRA_KAFKA_HEARTBEAT_INTERVAL_MS
    public var heartbeatIntervalMs: Int = 1000
    /// Replication factor of topics created by ``KafkaBus/createTopic(_:partitions:)``; -1 means
    /// the broker's `default.replication.factor`.
    /// Default: -1; env CDRA_KAFKA_REPLICATION_FACTOR
    public var replicationFactor: Int = -1
    /// Extra librdkafka properties passed through unchanged, applied last so they override the
    /// defaults above: `security.protocol`, `sasl.*`, `ssl.*`, `message.timeout.ms`, `linger.ms`...
    /// Values are never logged (see ``redactedProperties``).
    /// Default: empty; env `CDRA_KAFKA_PROP_<NAME>` where NAME is the property with `.` written as `_`
    /// (`CDRA_KAFKA_PROP_SASL_PASSWORD` sets `sasl.password`).
    public var properties: [String: String] = [:]

    /// Settings from the environment that could not be parsed; ``validate()`` reports them.
    var environmentProblems: [String] = []

    public init(brokers: String = "127.0.0.1:19092", clientID: String = "cdra",
                sessionTimeoutMs: Int = 6000, heartbeatIntervalMs: Int = 1000,
                properties: [String: String] = [:]) {
        self.brokers = brokers
        self.clientID = clientID
        self.sessionTimeoutMs = sessionTimeoutMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.properties = properties
    }

    public static let environmentPropertyPrefix = "CDRA_KAFKA_PROP_"

    /// The configuration from environment variables, defaults for the rest.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> KafkaConfiguration {
        var config = KafkaConfiguration()
        if let brokers = env["CDRA_KAFKA_BROKERS"], !brokers.isEmpty { config.brokers = brokers }
        if let clientID = env["CDRA_KAFKA_CLIENT_ID"], !clientID.isEmpty { config.clientID = clientID }
        func integer(_ name: String, _ apply: (Int) -> Void) {
            guard let text = env[name], !text.isEmpty else { return }
            if let value = Int(text) { apply(value) } else { config.environmentProblems.append("\(name) is not an integer: '\(text.prefix(20))'") }
        }
        integer("CDRA_KAFKA_SESSION_TIMEOUT_MS") { config.sessionTimeoutMs = $0 }
        integer("CDRA_KAFKA_HEARTBEAT_INTERVAL_MS") { config.heartbeatIntervalMs = $0 }
        integer("CDRA_KAFKA_REPLICATION_FACTOR") { config.replicationFactor = $0 }
        for (name, value) in env where name.hasPrefix(environmentPropertyPrefix) {
            let property = name.dropFirst(environmentPropertyPrefix.count).lowercased().replacingOccurrences(of: "_", with: ".")
            if !property.isEmpty { config.properties[property] = value }
        }
        return config
    }

    /// Checks the invariants librdkafka would otherwise report late or vaguely.
    public func validate() throws {
        var problems = environmentProblems
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

    /// Whether a property's value must never be logged or echoed in an error.
    public static func isSecret(_ property: String) -> Bool {
        let name = property.lowercased()
        return ["password", "secret", "key", "token", "jaas", "credential"].contains { name.contains($0) }
    }

    /// ``properties`` with secret values replaced by `<redacted>`, for logs.
    public var redactedProperties: [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = Self.isSecret(entry.key) ? "<redacted>" : entry.value
        }
    }
}
