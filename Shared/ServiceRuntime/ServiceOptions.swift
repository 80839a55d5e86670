import ArgumentParser
import Events
import Foundation
import Logging
import Settings
import Store

/// The one place a service reads its configuration: command-line flags with environment-variable
/// fallbacks. Precedence is always flag > environment > default; an empty environment variable
/// counts as unset.
///
/// Secrets (Kafka SASL credentials, the database password) are read only from the environment,
/// never from flags, because flags are visible to every user of the machine through `ps`.
///
/// Use it as an option group of a service's command:
///
/// ```swift
/// @main struct CouncilGenerator: AsyncParsableCommand {
///     @OptionGroup var options: ServiceOptions
///     func run() async throws {
///         try await runService(name: "council-generator", options: options, services: [...])
///     }
/// }
/// ```
///
/// `validate()` (called by the parser) checks every resolved value and captures the environment,
/// so the accessors below always answer from the same snapshot.
public struct ServiceOptions: ParsableArguments, Sendable {
    // MARK: - Environment

    /// Where environment variables come from. Defaults to the process environment; tests bind it
    /// with `ServiceOptions.$environment.withValue([...]) { ... }` or use ``parse(_:environment:)``.
    @TaskLocal public static var environment: [String: String] = ProcessInfo.processInfo.environment

    /// Parses `arguments` against an explicit environment instead of the process's.
    public static func parse(_ arguments: [String], environment: [String: String]) throws -> ServiceOptions {
        try $environment.withValue(environment) { try parse(arguments) }
    }

    /// The environment snapshot taken by `validate()`. Not a flag: ArgumentParser keeps
    /// non-wrapped stored properties at their default value.
    var capturedEnvironment: [String: String] = [:]
    var environmentCaptured = false

    /// Names of the environment variables this type reads.
    public enum Variable {
        public static let kafkaBrokers = "CDRA_KAFKA_BROKERS"
        public static let kafkaClientID = "CDRA_KAFKA_CLIENT_ID"
        public static let kafkaSecurityProtocol = "CDRA_KAFKA_SECURITY_PROTOCOL"
        public static let kafkaSASLMechanism = "CDRA_KAFKA_SASL_MECHANISM"
        public static let kafkaSASLUsername = "CDRA_KAFKA_SASL_USERNAME"
        public static let kafkaSASLPassword = "CDRA_KAFKA_SASL_PASSWORD"
        public static let kafkaSSLCALocation = "CDRA_KAFKA_SSL_CA_LOCATION"
        public static let kafkaSessionTimeoutMs = "CDRA_KAFKA_SESSION_TIMEOUT_MS"
        public static let kafkaHeartbeatIntervalMs = "CDRA_KAFKA_HEARTBEAT_INTERVAL_MS"
        public static let kafkaReplicationFactor = "CDRA_KAFKA_REPLICATION_FACTOR"
        /// Prefix of librdkafka pass-through properties: `CDRA_KAFKA_PROP_MESSAGE_TIMEOUT_MS` sets
        /// `message.timeout.ms` (the rest of the name lower-cased, `_` written as `.`).
        public static let kafkaPropertyPrefix = "CDRA_KAFKA_PROP_"
        public static let databaseURL = "CDRA_DATABASE_URL"
        public static let databaseSSLMode = "CDRA_DATABASE_SSLMODE"
        public static let databaseSchema = "CDRA_DATABASE_SCHEMA"
        public static let databasePassword = "CDRA_DATABASE_PASSWORD"
        public static let pgPassword = "PGPASSWORD"
        public static let databasePoolSize = "CDRA_DATABASE_POOL_SIZE"
        public static let databaseConnectTimeout = "CDRA_DATABASE_CONNECT_TIMEOUT"
        public static let topicPartitions = "CDRA_TOPIC_PARTITIONS"
        public static let httpHost = "CDRA_HTTP_HOST"
        public static let httpPort = "CDRA_HTTP_PORT"
        public static let logLevel = "CDRA_LOG_LEVEL"
        public static let logFormat = "CDRA_LOG_FORMAT"
        public static let maxEventBytes = "CDRA_MAX_EVENT_BYTES"
        public static let shutdownTimeoutSeconds = "CDRA_SHUTDOWN_TIMEOUT_SECONDS"
        public static let startupTimeoutSeconds = "CDRA_STARTUP_TIMEOUT_SECONDS"
    }

    /// Every environment variable this type reads: the ``Variable`` names and the ``TopicSetting``
    /// variables; besides these, any `CDRA_KAFKA_PROP_*` (``Variable/kafkaPropertyPrefix``).
    /// The accessors see only these variables, so a name left out here reads as unset; the Compose
    /// stack's check (`Tests/ComposeTests`) compares what `compose.yaml` passes against this list.
    public static let environmentVariables: [String] = [
        Variable.kafkaBrokers, Variable.kafkaClientID, Variable.kafkaSecurityProtocol, Variable.kafkaSASLMechanism,
        Variable.kafkaSASLUsername, Variable.kafkaSASLPassword, Variable.kafkaSSLCALocation,
        Variable.kafkaSessionTimeoutMs, Variable.kafkaHeartbeatIntervalMs, Variable.kafkaReplicationFactor,
        Variable.databaseURL, Variable.databaseSSLMode, Variable.databaseSchema, Variable.databasePassword,
        Variable.pgPassword, Variable.databasePoolSize, Variable.databaseConnectTimeout, Variable.topicPartitions,
        Variable.httpHost, Variable.httpPort, Variable.logLevel, Variable.logFormat, Variable.maxEventBytes,
        Variable.shutdownTimeoutSeconds, Variable.startupTimeoutSeconds,
    ] + TopicSetting.allCases.map(\.variable)

    private static let readVariables = Set(environmentVariables)

    /// Built-in defaults, used when neither a flag nor an environment variable is given.
    public enum Defaults {
        public static let kafkaBrokers = "127.0.0.1:19092"
        public static let kafkaClientID = "cdra"
        public static let kafkaSecurityProtocol = KafkaSecurityProtocol.plaintext
        public static let kafkaSASLMechanism = "PLAIN"
        public static let kafkaSessionTimeoutMs = 6000
        public static let kafkaHeartbeatIntervalMs = 1000
        public static let kafkaReplicationFactor = -1
        public static let databasePoolSize = 2
        public static let databaseConnectTimeout = 5
        public static let topicPartitions = 4
        public static let databaseURL = "postgresql://cdra@127.0.0.1:55432/cdra"
        public static let databaseSchema = "public"
        public static let httpHost = "127.0.0.1"
        public static let httpPort = 0
        public static let logLevel = Logger.Level.info
        public static let logFormat = LogFormat.text
        public static let maxEventBytes = 1_048_576
        public static let shutdownTimeoutSeconds = 30
        public static let startupTimeoutSeconds = 60
    }

    /// `security.protocol` values librdkafka accepts.
    public enum KafkaSecurityProtocol: String, CaseIterable, Sendable {
        case plaintext, ssl
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"

        var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
        var usesTLS: Bool { self == .ssl || self == .saslSSL }
    }

    /// SASL mechanisms that authenticate with a username and password (the only kind the
    /// environment can supply).
    public static let supportedSASLMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

    /// libpq `sslmode` values.
    public static let databaseSSLModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Log line formats.
    public enum LogFormat: String, CaseIterable, Sendable {
        case text, json
    }

    // MARK: - Flags (raw; nil when not given on the command line)

    @Option(name: .customLong("kafka-brokers"),
            help: "Kafka bootstrap servers, host:port[,host:port...]. Env CDRA_KAFKA_BROKERS. Default 127.0.0.1:19092.")
    var kafkaBrokersFlag: String?

    @Option(name: .customLong("kafka-client-id"),
            help: "Kafka client.id. Env CDRA_KAFKA_CLIENT_ID. Default cdra.")
    var kafkaClientIDFlag: String?

    @Option(name: .customLong("kafka-security-protocol"),
            help: "plaintext | ssl | sasl_plaintext | sasl_ssl. Env CDRA_KAFKA_SECURITY_PROTOCOL. Default plaintext.")
    var kafkaSecurityProtocolFlag: String?

    @Option(name: .customLong("kafka-sasl-mechanism"),
            help: "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (sasl_* only). Env CDRA_KAFKA_SASL_MECHANISM. Default PLAIN. Credentials come only from CDRA_KAFKA_SASL_USERNAME / CDRA_KAFKA_SASL_PASSWORD.")
    var kafkaSASLMechanismFlag: String?

    @Option(name: .customLong("kafka-ssl-ca-location"),
            help: "CA certificate file for ssl / sasl_ssl. Env CDRA_KAFKA_SSL_CA_LOCATION. Default: system CAs.")
    var kafkaSSLCALocationFlag: String?

    @Option(name: .customLong("kafka-session-timeout-ms"),
            help: "Consumer group session timeout. Env CDRA_KAFKA_SESSION_TIMEOUT_MS. Default 6000.")
    var kafkaSessionTimeoutMsFlag: String?

    @Option(name: .customLong("kafka-heartbeat-interval-ms"),
            help: "Consumer group heartbeat interval. Env CDRA_KAFKA_HEARTBEAT_INTERVAL_MS. Default 1000.")
    var kafkaHeartbeatIntervalMsFlag: String?

    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL or conninfo, without a password. Env CDRA_DATABASE_URL (may carry one). Default postgresql://cdra@127.0.0.1:55432/cdra. Password only from CDRA_DATABASE_PASSWORD or PGPASSWORD.")
    var databaseURLFlag: String?

    @Option(name: .customLong("database-sslmode"),
            help: "disable | allow | prefer | require | verify-ca | verify-full. Env CDRA_DATABASE_SSLMODE. Default: the URL's own, else libpq's (prefer).")
    var databaseSSLModeFlag: String?

    @Option(name: .customLong("database-schema"),
            help: "Schema that holds CDRA's tables (created if missing). Env CDRA_DATABASE_SCHEMA. Default public.")
    var databaseSchemaFlag: String?

    @Option(name: .customLong("http-host"),
            help: "IPv4 address the /metrics and /health server binds. Env CDRA_HTTP_HOST. Default 127.0.0.1.")
    var httpHostFlag: String?

    // Unconditional so "-1" is read as the value, not as an unknown option.
    @Option(name: .customLong("http-port"), parsing: .unconditional,
            help: "Port of the /metrics and /health server; 0 picks a free port, -1 disables it. Env CDRA_HTTP_PORT. Default 0.")
    var httpPortFlag: String?

    @Option(name: .customLong("log-level"),
            help: "trace | debug | info | notice | warning | error | critical. Env CDRA_LOG_LEVEL. Default info.")
    var logLevelFlag: String?

    @Option(name: .customLong("log-format"),
            help: "text | json (one JSON object per line). Env CDRA_LOG_FORMAT. Default text.")
    var logFormatFlag: String?

    @Option(name: .customLong("max-event-bytes"),
            help: "Largest event accepted or produced, in bytes. Env CDRA_MAX_EVENT_BYTES. Default 1048576.")
    var maxEventBytesFlag: String?

    @Option(name: .customLong("shutdown-timeout-seconds"),
            help: "Time allowed for graceful shutdown before tasks are cancelled. Env CDRA_SHUTDOWN_TIMEOUT_SECONDS. Default 30.")
    var shutdownTimeoutSecondsFlag: String?

    @Option(name: .customLong("startup-timeout-seconds"),
            help: "How long start-up waits for PostgreSQL and Kafka to become reachable. Env CDRA_STARTUP_TIMEOUT_SECONDS. Default 60.")
    var startupTimeoutSecondsFlag: String?

    public init() {}

    // MARK: - Resolved values

    /// The environment the accessors read: the snapshot from `validate()`, else the current one.
    var env: [String: String] { environmentCaptured ? capturedEnvironment : Self.environment }

    /// The environment as the one reader sees it: only the variables this type declares.
    var reader: EnvironmentReader {
        EnvironmentReader(env.filter { Self.readVariables.contains($0.key) || $0.key.hasPrefix(Variable.kafkaPropertyPrefix) })
    }

    private func value(_ flag: String?, _ variable: String) -> String? {
        if let flag { return flag }
        return reader.string(variable)
    }

    /// Where a resolved value came from, for error messages.
    private func origin(_ flag: String?, _ variable: String) -> String {
        flag != nil ? "flag" : "environment variable \(variable)"
    }

    /// Kafka bootstrap servers (`bootstrap.servers`).
    /// Default: "127.0.0.1:19092"
    public var kafkaBrokers: String { value(kafkaBrokersFlag, Variable.kafkaBrokers) ?? Defaults.kafkaBrokers }

    /// Kafka `client.id`.
    /// Default: "cdra"
    public var kafkaClientID: String { value(kafkaClientIDFlag, Variable.kafkaClientID) ?? Defaults.kafkaClientID }

    /// Kafka `security.protocol`.
    /// Default: plaintext
    public var kafkaSecurityProtocol: KafkaSecurityProtocol {
        value(kafkaSecurityProtocolFlag, Variable.kafkaSecurityProtocol)
            .flatMap { KafkaSecurityProtocol(rawValue: $0.lowercased()) } ?? Defaults.kafkaSecurityProtocol
    }

    /// Kafka `sasl.mechanisms`; only meaningful for sasl_* protocols.
    /// Default: "PLAIN"
    public var kafkaSASLMechanism: String {
        value(kafkaSASLMechanismFlag, Variable.kafkaSASLMechanism)?.uppercased() ?? Defaults.kafkaSASLMechanism
    }

    /// Kafka `ssl.ca.location`, or nil for the system trust store.
    /// Default: nil
    public var kafkaSSLCALocation: String? { value(kafkaSSLCALocationFlag, Variable.kafkaSSLCALocation) }

    /// Kafka consumer `session.timeout.ms`.
    /// Default: 6000
    public var kafkaSessionTimeoutMs: Int {
        value(kafkaSessionTimeoutMsFlag, Variable.kafkaSessionTimeoutMs).flatMap { Int($0) }
            ?? Defaults.kafkaSessionTimeoutMs
    }

    /// Kafka consumer `heartbeat.interval.ms`.
    /// Default: 1000
    public var kafkaHeartbeatIntervalMs: Int {
        value(kafkaHeartbeatIntervalMsFlag, Variable.kafkaHeartbeatIntervalMs).flatMap { Int($0) }
            ?? Defaults.kafkaHeartbeatIntervalMs
    }

    /// The database URL or conninfo as configured, before sslmode and the password are applied.
    /// Default: "postgresql://cdra@127.0.0.1:55432/cdra"
    public var databaseURLBase: String { value(databaseURLFlag, Variable.databaseURL) ?? Defaults.databaseURL }

    /// libpq `sslmode`, or nil to keep the URL's own (or libpq's default, prefer).
    /// Default: nil
    public var databaseSSLMode: String? { value(databaseSSLModeFlag, Variable.databaseSSLMode)?.lowercased() }

    /// Address of the operations HTTP server.
    /// Default: "127.0.0.1"
    /// Where the tables live; tests and benchmarks use a private schema each.
    public var databaseSchema: String { value(databaseSchemaFlag, Variable.databaseSchema) ?? Defaults.databaseSchema }

    public var httpHost: String { value(httpHostFlag, Variable.httpHost) ?? Defaults.httpHost }

    /// Port of the operations HTTP server; 0 picks a free port, -1 disables the server.
    /// Default: 0
    public var httpPort: Int {
        value(httpPortFlag, Variable.httpPort).flatMap { Int($0) } ?? Defaults.httpPort
    }

    /// Minimum level written to the log.
    /// Default: info
    public var logLevel: Logger.Level {
        value(logLevelFlag, Variable.logLevel).flatMap { Logger.Level(rawValue: $0.lowercased()) }
            ?? Defaults.logLevel
    }

    /// Log line format.
    /// Default: text
    public var logFormat: LogFormat {
        value(logFormatFlag, Variable.logFormat).flatMap { LogFormat(rawValue: $0.lowercased()) }
            ?? Defaults.logFormat
    }

    /// Largest serialized event, in bytes; larger ones are rejected (consumers dead-letter them).
    /// Default: 1048576
    public var maxEventBytes: Int {
        value(maxEventBytesFlag, Variable.maxEventBytes).flatMap { Int($0) } ?? Defaults.maxEventBytes
    }

    /// How long graceful shutdown may take before the remaining tasks are cancelled.
    /// Default: 30
    public var shutdownTimeoutSeconds: Int {
        value(shutdownTimeoutSecondsFlag, Variable.shutdownTimeoutSeconds).flatMap { Int($0) }
            ?? Defaults.shutdownTimeoutSeconds
    }

    /// The settings read from the environment only, as whole numbers, with their allowed ranges:
    /// one table for resolving and for ``validationProblems()``.
    static let environmentIntegerRanges: [(variable: String, range: ClosedRange<Int>)] = [
        (Variable.kafkaReplicationFactor, -1...32), (Variable.databasePoolSize, 1...1000),
        (Variable.databaseConnectTimeout, 1...3600), (Variable.topicPartitions, 1...10_000),
    ]

    /// An environment-only integer setting, or `fallback` when it is unset or invalid (invalid
    /// values are reported by validation before anything uses them).
    private func environmentInteger(_ variable: String, default fallback: Int) -> Int {
        guard let range = Self.environmentIntegerRanges.first(where: { $0.variable == variable })?.range else {
            return fallback
        }
        return (try? reader.integer(variable, in: range)) ?? fallback
    }

    /// Replication factor of topics the service creates; -1 is the broker's default.
    /// Default: -1 (environment only)
    public var kafkaReplicationFactor: Int {
        environmentInteger(Variable.kafkaReplicationFactor, default: Defaults.kafkaReplicationFactor)
    }

    /// librdkafka properties passed through from `CDRA_KAFKA_PROP_*` (environment only, so they may
    /// carry secrets such as `sasl.oauthbearer.client.secret`; logged redacted).
    /// Default: none
    public var kafkaPassThroughProperties: [String: String] {
        reader.variables(withPrefix: Variable.kafkaPropertyPrefix).reduce(into: [:]) { result, entry in
            result[entry.key.lowercased().replacingOccurrences(of: "_", with: ".")] = entry.value
        }
    }

    /// Connections one service keeps open to PostgreSQL at most.
    /// Default: 2 (environment only)
    public var databasePoolSize: Int {
        environmentInteger(Variable.databasePoolSize, default: Defaults.databasePoolSize)
    }

    /// Seconds to wait for a PostgreSQL connection to open.
    /// Default: 5 (environment only)
    public var databaseConnectTimeout: Int {
        environmentInteger(Variable.databaseConnectTimeout, default: Defaults.databaseConnectTimeout)
    }

    /// Partitions of the topics a service creates when they do not exist yet.
    /// Default: 4 (environment only; services may offer a flag)
    public var topicPartitions: Int {
        environmentInteger(Variable.topicPartitions, default: Defaults.topicPartitions)
    }

    /// The topic a service uses for `payload`: `flag` when given, else the payload's
    /// ``TopicSetting`` variable (`CDRA_TOPIC_QUERIES`, ...), else the payload's default topic.
    public func topic(_ setting: TopicSetting, flag: String? = nil) -> String {
        value(flag, setting.variable) ?? setting.defaultTopic
    }

    /// How long start-up retries an unreachable database or broker before it gives up.
    /// Default: 60
    public var startupTimeoutSeconds: Int {
        value(startupTimeoutSecondsFlag, Variable.startupTimeoutSeconds).flatMap { Int($0) }
            ?? Defaults.startupTimeoutSeconds
    }

    /// SASL username, from the environment only.
    var kafkaSASLUsername: String? { reader.secret(Variable.kafkaSASLUsername) }
    /// SASL password, from the environment only.
    var kafkaSASLPassword: String? { reader.secret(Variable.kafkaSASLPassword) }

    /// Database password from the environment: CDRA_DATABASE_PASSWORD, else PGPASSWORD.
    var databasePassword: String? {
        reader.secret(Variable.databasePassword) ?? reader.secret(Variable.pgPassword)
    }

    // MARK: - Validation

    /// Checks every resolved value and captures the environment. All problems are reported at
    /// once, one per line.
    public mutating func validate() throws {
        if !environmentCaptured {
            capturedEnvironment = Self.environment
            environmentCaptured = true
        }
        let problems = validationProblems()
        if !problems.isEmpty {
            throw ValidationError(problems.joined(separator: "\n"))
        }
    }

    /// Every configuration problem, as a sentence naming the flag or variable; empty when valid.
    public func validationProblems() -> [String] {
        var problems: [String] = []

        // Kafka
        let brokers = kafkaBrokers.split(separator: ",", omittingEmptySubsequences: false)
        for broker in brokers {
            let entry = broker.trimmingCharacters(in: .whitespaces)
            guard let colon = entry.lastIndex(of: ":"), colon != entry.startIndex,
                  let port = Int(entry[entry.index(after: colon)...]), (1...65535).contains(port)
            else {
                problems.append("Kafka broker '\(entry)' (from \(origin(kafkaBrokersFlag, Variable.kafkaBrokers))) must be host:port with a port in 1...65535.")
                continue
            }
        }
        if kafkaClientID.isEmpty {
            problems.append("Kafka client id must not be empty.")
        }
        let protocolRaw = value(kafkaSecurityProtocolFlag, Variable.kafkaSecurityProtocol)
        if let protocolRaw, KafkaSecurityProtocol(rawValue: protocolRaw.lowercased()) == nil {
            problems.append("Unknown Kafka security protocol '\(protocolRaw)' (from \(origin(kafkaSecurityProtocolFlag, Variable.kafkaSecurityProtocol))); expected one of \(KafkaSecurityProtocol.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let securityProtocol = kafkaSecurityProtocol
        let mechanismRaw = value(kafkaSASLMechanismFlag, Variable.kafkaSASLMechanism)
        if securityProtocol.usesSASL {
            if !Self.supportedSASLMechanisms.contains(kafkaSASLMechanism) {
                problems.append("Unsupported Kafka SASL mechanism '\(kafkaSASLMechanism)'; expected one of \(Self.supportedSASLMechanisms.joined(separator: ", ")).")
            }
            if kafkaSASLUsername == nil {
                problems.append("Kafka security protocol \(securityProtocol.rawValue) needs a username in the environment variable \(Variable.kafkaSASLUsername).")
            }
            if kafkaSASLPassword == nil {
                problems.append("Kafka security protocol \(securityProtocol.rawValue) needs a password in the environment variable \(Variable.kafkaSASLPassword).")
            }
        } else if mechanismRaw != nil, KafkaSecurityProtocol(rawValue: protocolRaw?.lowercased() ?? "plaintext") != nil {
            problems.append("A Kafka SASL mechanism is set but the security protocol is \(securityProtocol.rawValue); use sasl_plaintext or sasl_ssl, or drop the mechanism.")
        }
        if let ca = kafkaSSLCALocation {
            if !securityProtocol.usesTLS {
                problems.append("A Kafka SSL CA location is set but the security protocol is \(securityProtocol.rawValue); use ssl or sasl_ssl, or drop the CA location.")
            } else if !FileManager.default.isReadableFile(atPath: ca) {
                problems.append("Kafka SSL CA location '\(ca)' is not a readable file.")
            }
        }
        let sessionRaw = value(kafkaSessionTimeoutMsFlag, Variable.kafkaSessionTimeoutMs)
        let heartbeatRaw = value(kafkaHeartbeatIntervalMsFlag, Variable.kafkaHeartbeatIntervalMs)
        if let sessionRaw, Int(sessionRaw) == nil || !(1...3_600_000).contains(Int(sessionRaw)!) {
            problems.append("Kafka session timeout '\(sessionRaw)' (from \(origin(kafkaSessionTimeoutMsFlag, Variable.kafkaSessionTimeoutMs))) must be an integer number of milliseconds in 1...3600000.")
        }
        if let heartbeatRaw, Int(heartbeatRaw) == nil || !(1...3_600_000).contains(Int(heartbeatRaw)!) {
            problems.append("Kafka heartbeat interval '\(heartbeatRaw)' (from \(origin(kafkaHeartbeatIntervalMsFlag, Variable.kafkaHeartbeatIntervalMs))) must be an integer number of milliseconds in 1...3600000.")
        } else if kafkaHeartbeatIntervalMs >= kafkaSessionTimeoutMs {
            problems.append("Kafka heartbeat interval (\(kafkaHeartbeatIntervalMs) ms) must be shorter than the session timeout (\(kafkaSessionTimeoutMs) ms).")
        }

        for (variable, range) in Self.environmentIntegerRanges {
            do { _ = try reader.integer(variable, in: range) } catch { problems.append("Environment variable \(error).") }
        }
        if kafkaReplicationFactor == 0 {
            problems.append("Environment variable \(Variable.kafkaReplicationFactor) must be -1 (the broker's default) or positive.")
        }
        for setting in TopicSetting.allCases {
            let name = topic(setting)
            if name.isEmpty || name.count > 249 || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
                problems.append("Topic '\(name.prefix(80))' (from \(setting.variable) or its flag) must be 1-249 ASCII letters, digits, '.', '_' or '-'.")
            }
        }

        // PostgreSQL
        let url = databaseURLBase
        if url.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append("Database URL must not be empty.")
        } else if let parsed = DatabaseURL(url) {
            if databaseURLFlag != nil, parsed.hasPassword {
                problems.append("--database-url must not contain a password (flags are visible in the process list); put it in \(Variable.databasePassword) or PGPASSWORD, or pass the whole URL in \(Variable.databaseURL).")
            }
        } else {
            problems.append("Database URL (from \(origin(databaseURLFlag, Variable.databaseURL))) must start with postgresql:// or postgres://, or be a key=value conninfo string.")
        }
        if let mode = databaseSSLMode, !Self.databaseSSLModes.contains(mode) {
            problems.append("Unknown database sslmode '\(mode)' (from \(origin(databaseSSLModeFlag, Variable.databaseSSLMode))); expected one of \(Self.databaseSSLModes.joined(separator: ", ")).")
        }

        let schema = databaseSchema
        if schema.isEmpty || schema.count > 63 || schema.first!.isNumber
            || !schema.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }) {
            problems.append("Database schema '\(schema.prefix(80))' (from \(origin(databaseSchemaFlag, Variable.databaseSchema))) must be 1-63 lower-case letters, digits or underscores, not starting with a digit.")
        }

        // HTTP
        if let portRaw = value(httpPortFlag, Variable.httpPort), Int(portRaw) == nil || !(-1...65535).contains(Int(portRaw)!) {
            problems.append("HTTP port '\(portRaw)' (from \(origin(httpPortFlag, Variable.httpPort))) must be an integer in 0...65535, or -1 to disable the server.")
        }
        if OperationsServer.ipv4Address(httpHost) == nil {
            problems.append("HTTP host '\(httpHost)' (from \(origin(httpHostFlag, Variable.httpHost))) must be an IPv4 address such as 127.0.0.1 or 0.0.0.0 (or localhost).")
        }

        // Logging
        if let levelRaw = value(logLevelFlag, Variable.logLevel), Logger.Level(rawValue: levelRaw.lowercased()) == nil {
            problems.append("Unknown log level '\(levelRaw)' (from \(origin(logLevelFlag, Variable.logLevel))); expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if let formatRaw = value(logFormatFlag, Variable.logFormat), LogFormat(rawValue: formatRaw.lowercased()) == nil {
            problems.append("Unknown log format '\(formatRaw)' (from \(origin(logFormatFlag, Variable.logFormat))); expected text or json.")
        }

        // Events and shutdown
        if let raw = value(maxEventBytesFlag, Variable.maxEventBytes), Int(raw) == nil || !(1...1_000_000_000).contains(Int(raw)!) {
            problems.append("Max event bytes '\(raw)' (from \(origin(maxEventBytesFlag, Variable.maxEventBytes))) must be an integer in 1...1000000000.")
        }
        if let raw = value(shutdownTimeoutSecondsFlag, Variable.shutdownTimeoutSeconds), Int(raw) == nil || !(1...86_400).contains(Int(raw)!) {
            problems.append("Shutdown timeout '\(raw)' (from \(origin(shutdownTimeoutSecondsFlag, Variable.shutdownTimeoutSeconds))) must be an integer number of seconds in 1...86400.")
        }
        if let raw = value(startupTimeoutSecondsFlag, Variable.startupTimeoutSeconds), Int(raw) == nil || !(0...86_400).contains(Int(raw)!) {
            problems.append("Start-up timeout '\(raw)' (from \(origin(startupTimeoutSecondsFlag, Variable.startupTimeoutSeconds))) must be an integer number of seconds in 0...86400.")
        }
        return problems
    }

    // MARK: - Outputs

    /// librdkafka configuration properties (bootstrap.servers, client.id, security.protocol,
    /// sasl.*, ssl.ca.location, session.timeout.ms, heartbeat.interval.ms).
    /// Pass `includeConsumerGroupSettings: false` for a producer: librdkafka warns about
    /// consumer-only properties on a producer, though it ignores them.
    /// Contains the SASL password when one is configured: never log this dictionary, log
    /// ``redactedKafkaProperties()`` instead.
    public func kafkaProperties(includeConsumerGroupSettings: Bool = true) -> [String: String] {
        var properties: [String: String] = [
            "bootstrap.servers": kafkaBrokers.split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ","),
            "client.id": kafkaClientID,
            "security.protocol": kafkaSecurityProtocol.rawValue,
        ]
        if includeConsumerGroupSettings {
            properties["session.timeout.ms"] = String(kafkaSessionTimeoutMs)
            properties["heartbeat.interval.ms"] = String(kafkaHeartbeatIntervalMs)
        }
        if kafkaSecurityProtocol.usesSASL {
            properties["sasl.mechanisms"] = kafkaSASLMechanism
            if let username = kafkaSASLUsername { properties["sasl.username"] = username }
            if let password = kafkaSASLPassword { properties["sasl.password"] = password }
        }
        if kafkaSecurityProtocol.usesTLS, let ca = kafkaSSLCALocation {
            properties["ssl.ca.location"] = ca
        }
        return properties
    }

    /// ``kafkaProperties()`` and the pass-through properties with the SASL username and every
    /// secret value replaced by the redaction marker.
    public func redactedKafkaProperties() -> [String: String] {
        var properties = kafkaProperties()
        for (key, value) in kafkaPassThroughProperties {
            properties[key] = Redaction.isSecretName(key) ? Redaction.marker : value
        }
        for key in ["sasl.username", "sasl.password"] where properties[key] != nil {
            properties[key] = Redaction.marker
        }
        return properties
    }

    /// The libpq connection string: the configured URL (or conninfo) with `sslmode` applied and the
    /// password from the environment filled in when the URL carries none. Contains the password:
    /// never log it, log ``redactedDatabaseURL()`` instead.
    public func databaseURL() -> String {
        guard var url = DatabaseURL(databaseURLBase) else { return databaseURLBase }
        if let mode = databaseSSLMode { url.setParameter("sslmode", mode) }
        if !url.hasPassword, let password = databasePassword { url.setPassword(password) }
        return url.rendered()
    }

    /// ``databaseURL()`` with any password replaced by the redaction marker.
    public func redactedDatabaseURL() -> String {
        DatabaseConfiguration.redact(databaseURL())
    }

    /// The resolved configuration on one line, every secret replaced by the redaction marker. Safe
    /// to log.
    public var redactedDescription: String {
        let kafka = redactedKafkaProperties().sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        var parts = [
            "kafka{\(kafka)}",
            "database=\(redactedDatabaseURL())",
            "database.password=\(databasePassword == nil ? "unset" : Redaction.marker)",
            "database.pool=\(databasePoolSize)",
            "http=\(httpPort == -1 ? "disabled" : "\(httpHost):\(httpPort)")",
            "log.level=\(logLevel.rawValue)",
            "log.format=\(logFormat.rawValue)",
            "max.event.bytes=\(maxEventBytes)",
            "shutdown.timeout.s=\(shutdownTimeoutSeconds)",
            "startup.timeout.s=\(startupTimeoutSeconds)",
        ]
        if !kafkaSecurityProtocol.usesSASL, kafkaSASLUsername != nil || kafkaSASLPassword != nil {
            parts.append("kafka.sasl.credentials=ignored")
        }
        return parts.joined(separator: " ")
    }
}
