import ArgumentParser
import Foundation
import Logging
import ServiceRuntime
import Testing

/// Parses with an explicit environment, never the process's.
private func parse(_ arguments: [String] = [], env: [String: String] = [:]) throws -> ServiceOptions {
    try ServiceOptions.parse(arguments, environment: env)
}

/// The validation message a parse fails with, or nil when it succeeds.
private func failure(_ arguments: [String] = [], env: [String: String] = [:]) -> String? {
    do {
        _ = try parse(arguments, env: env)
        return nil
    } catch {
        return ServiceOptions.message(for: error)
    }
}

@Suite("ServiceOptions: precedence")
struct ServiceOptionsPrecedenceTests {
    @Test func defaultsApplyWhenNeitherFlagNorEnvironmentIsSet() throws {
        let o = try parse()
        #expect(o.kafkaBrokers == "127.0.0.1:19092")
        #expect(o.kafkaClientID == "cdra")
        #expect(o.kafkaSecurityProtocol == .plaintext)
        #expect(o.kafkaSessionTimeoutMs == 6000)
        #expect(o.kafkaHeartbeatIntervalMs == 1000)
        #expect(o.kafkaSSLCALocation == nil)
        #expect(o.databaseURL() == "postgresql://cdra@127.0.0.1:55432/cdra")
        #expect(o.databaseSSLMode == nil)
        #expect(o.httpHost == "127.0.0.1")
        #expect(o.httpPort == 0)
        #expect(o.logLevel == .info)
        #expect(o.logFormat == .text)
        #expect(o.maxEventBytes == 1_048_576)
        #expect(o.shutdownTimeoutSeconds == 30)
    }

    @Test func environmentOverridesDefaults() throws {
        let o = try parse(env: [
            "CDRA_KAFKA_BROKERS": "k1:9092,k2:9093",
            "CDRA_KAFKA_SESSION_TIMEOUT_MS": "10000",
            "CDRA_KAFKA_HEARTBEAT_INTERVAL_MS": "2500",
            "CDRA_DATABASE_URL": "postgresql://svc@db.internal:5432/prod",
            "CDRA_HTTP_PORT": "9464",
            "CDRA_LOG_LEVEL": "debug",
            "CDRA_LOG_FORMAT": "json",
            "CDRA_MAX_EVENT_BYTES": "2048",
        ])
        #expect(o.kafkaBrokers == "k1:9092,k2:9093")
        #expect(o.kafkaSessionTimeoutMs == 10000)
        #expect(o.kafkaHeartbeatIntervalMs == 2500)
        #expect(o.databaseURL() == "postgresql://svc@db.internal:5432/prod")
        #expect(o.httpPort == 9464)
        #expect(o.logLevel == .debug)
        #expect(o.logFormat == .json)
        #expect(o.maxEventBytes == 2048)
    }

    @Test func flagsOverrideEnvironment() throws {
        let env = [
            "CDRA_KAFKA_BROKERS": "from-env:9092",
            "CDRA_KAFKA_CLIENT_ID": "env-client",
            "CDRA_HTTP_PORT": "9464",
            "CDRA_LOG_LEVEL": "debug",
            "CDRA_DATABASE_SSLMODE": "require",
        ]
        let o = try parse(["--kafka-brokers", "from-flag:9092", "--kafka-client-id", "flag-client",
                           "--http-port", "-1", "--log-level", "error", "--database-sslmode", "disable"],
                          env: env)
        #expect(o.kafkaBrokers == "from-flag:9092")
        #expect(o.kafkaClientID == "flag-client")
        #expect(o.httpPort == -1)
        #expect(o.logLevel == .error)
        #expect(o.databaseSSLMode == "disable")
    }

    @Test func emptyEnvironmentVariableCountsAsUnset() throws {
        let o = try parse(env: ["CDRA_KAFKA_BROKERS": "", "CDRA_HTTP_PORT": ""])
        #expect(o.kafkaBrokers == "127.0.0.1:19092")
        #expect(o.httpPort == 0)
    }

    @Test func resolvedValuesUseTheEnvironmentSeenAtParseTime() throws {
        let o = try parse(env: ["CDRA_KAFKA_BROKERS": "snap:9092"])
        // Outside the parse, a different task-local environment must not change the answer.
        ServiceOptions.$environment.withValue(["CDRA_KAFKA_BROKERS": "other:9092"]) {
            #expect(o.kafkaBrokers == "snap:9092")
        }
    }
}

@Suite("ServiceOptions: validation")
struct ServiceOptionsValidationTests {
    @Test func validConfigurationHasNoProblems() throws {
        #expect(failure() == nil)
        #expect(try parse().validationProblems().isEmpty)
    }

    @Test func unknownSecurityProtocolIsRejectedNamingTheChoices() {
        let message = failure(["--kafka-security-protocol", "tls"])
        #expect(message?.contains("Unknown Kafka security protocol 'tls'") == true)
        #expect(message?.contains("plaintext, ssl, sasl_plaintext, sasl_ssl") == true)
    }

    @Test func badValueFromEnvironmentNamesTheVariable() {
        let message = failure(env: ["CDRA_KAFKA_SECURITY_PROTOCOL": "kerberos"])
        #expect(message?.contains("environment variable CDRA_KAFKA_SECURITY_PROTOCOL") == true)
    }

    @Test(arguments: ["70000", "-2", "http", "80.5"])
    func badHTTPPortIsRejected(port: String) {
        let message = failure(["--http-port", port])
        #expect(message?.contains("HTTP port '\(port)'") == true)
    }

    @Test func badHTTPHostIsRejected() {
        #expect(failure(["--http-host", "example.com"])?.contains("HTTP host 'example.com'") == true)
        #expect(failure(["--http-host", "localhost"]) == nil)
        #expect(failure(["--http-host", "0.0.0.0"]) == nil)
    }

    @Test func saslWithoutCredentialsIsRejected() {
        let message = failure(["--kafka-security-protocol", "sasl_ssl"])
        #expect(message?.contains("needs a username in the environment variable CDRA_KAFKA_SASL_USERNAME") == true)
        #expect(message?.contains("needs a password in the environment variable CDRA_KAFKA_SASL_PASSWORD") == true)
        let onlyUser = failure(["--kafka-security-protocol", "sasl_plaintext"],
                               env: ["CDRA_KAFKA_SASL_USERNAME": "u"])
        #expect(onlyUser?.contains("CDRA_KAFKA_SASL_PASSWORD") == true)
        #expect(onlyUser?.contains("CDRA_KAFKA_SASL_USERNAME") == false)
    }

    @Test func saslCredentialsCannotBeGivenAsFlags() {
        // There is no such flag: credentials on the command line would show in `ps`.
        #expect(failure(["--kafka-sasl-password", "x"]) != nil)
        #expect(failure(["--kafka-sasl-username", "x"]) != nil)
        #expect(failure(["--database-password", "x"]) != nil)
    }

    @Test func unsupportedSASLMechanismIsRejected() {
        let env = ["CDRA_KAFKA_SASL_USERNAME": "u", "CDRA_KAFKA_SASL_PASSWORD": "p"]
        let message = failure(["--kafka-security-protocol", "sasl_ssl", "--kafka-sasl-mechanism", "GSSAPI"], env: env)
        #expect(message?.contains("Unsupported Kafka SASL mechanism 'GSSAPI'") == true)
    }

    @Test func saslMechanismWithoutSASLProtocolIsRejected() {
        let message = failure(["--kafka-sasl-mechanism", "PLAIN"])
        #expect(message?.contains("security protocol is plaintext") == true)
    }

    @Test func caLocationMustBeReadableAndNeedsTLS() {
        #expect(failure(["--kafka-ssl-ca-location", "/etc/hostname"])?.contains("use ssl or sasl_ssl") == true)
        let missing = failure(["--kafka-security-protocol", "ssl", "--kafka-ssl-ca-location", "/nonexistent/ca.pem"])
        #expect(missing?.contains("'/nonexistent/ca.pem' is not a readable file") == true)
    }

    @Test func heartbeatMustBeShorterThanSessionTimeout() {
        let message = failure(["--kafka-session-timeout-ms", "3000", "--kafka-heartbeat-interval-ms", "3000"])
        #expect(message?.contains("must be shorter than the session timeout") == true)
        #expect(failure(["--kafka-session-timeout-ms", "soon"])?.contains("Kafka session timeout 'soon'") == true)
    }

    @Test func brokerWithoutPortIsRejected() {
        let message = failure(["--kafka-brokers", "good:9092,localhost"])
        #expect(message?.contains("Kafka broker 'localhost'") == true)
        #expect(message?.contains("'good:9092'") == false)
    }

    @Test func unknownSSLModeIsRejected() {
        #expect(failure(["--database-sslmode", "strict"])?.contains("Unknown database sslmode 'strict'") == true)
    }

    @Test func passwordInDatabaseURLFlagIsRejectedButAllowedFromEnvironment() {
        let message = failure(["--database-url", "postgresql://cdra:hunter2@db/cdra"])
        #expect(message?.contains("must not contain a password") == true)
        #expect(message?.contains("hunter2") == false)
        #expect(failure(env: ["CDRA_DATABASE_URL": "postgresql://cdra:hunter2@db/cdra"]) == nil)
    }

    @Test func databaseURLMustBeAURLOrConninfo() {
        #expect(failure(["--database-url", "mysql://x"])?.contains("must start with postgresql://") == true)
        #expect(failure(["--database-url", "host=db dbname=cdra"]) == nil)
    }

    @Test func badLogSettingsAreRejected() {
        #expect(failure(["--log-level", "loud"])?.contains("Unknown log level 'loud'") == true)
        #expect(failure(["--log-format", "xml"])?.contains("Unknown log format 'xml'") == true)
        #expect(failure(["--max-event-bytes", "0"])?.contains("Max event bytes '0'") == true)
        #expect(failure(["--shutdown-timeout-seconds", "0"])?.contains("Shutdown timeout '0'") == true)
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let o = try ServiceOptions.$environment.withValue([:]) {
            try ServiceOptions.parse([])
        }
        #expect(o.validationProblems().isEmpty)
        let message = failure(["--http-port", "99999", "--log-level", "loud", "--database-sslmode", "x"])
        #expect(message?.split(separator: "\n").count == 3)
    }
}

@Suite("ServiceOptions: outputs")
struct ServiceOptionsOutputTests {
    @Test func kafkaPropertiesForPlaintext() throws {
        let o = try parse(["--kafka-brokers", "a:1, b:2", "--kafka-client-id", "critic"])
        #expect(o.kafkaProperties() == [
            "bootstrap.servers": "a:1,b:2",
            "client.id": "critic",
            "security.protocol": "plaintext",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "1000",
        ])
    }

    @Test func kafkaPropertiesForSASLOverTLS() throws {
        let ca = FileManager.default.temporaryDirectory
            .appendingPathComponent("runtime-test-ca-\(UInt32.random(in: 0...UInt32.max)).pem").path
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: ca, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: ca) }
        let o = try parse(["--kafka-security-protocol", "sasl_ssl", "--kafka-sasl-mechanism", "scram-sha-512",
                           "--kafka-ssl-ca-location", ca, "--kafka-session-timeout-ms", "30000",
                           "--kafka-heartbeat-interval-ms", "3000"],
                          env: ["CDRA_KAFKA_SASL_USERNAME": "svc-user", "CDRA_KAFKA_SASL_PASSWORD": "s3cr3t!"])
        #expect(o.kafkaProperties() == [
            "bootstrap.servers": "127.0.0.1:19092",
            "client.id": "cdra",
            "security.protocol": "sasl_ssl",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "svc-user",
            "sasl.password": "s3cr3t!",
            "ssl.ca.location": ca,
            "session.timeout.ms": "30000",
            "heartbeat.interval.ms": "3000",
        ])
        let redacted = o.redactedKafkaProperties()
        #expect(redacted["sasl.password"] == "***")
        #expect(redacted["sasl.username"] == "***")
    }

    @Test func saslMechanismDefaultsToPlain() throws {
        let o = try parse(["--kafka-security-protocol", "sasl_plaintext"],
                          env: ["CDRA_KAFKA_SASL_USERNAME": "u", "CDRA_KAFKA_SASL_PASSWORD": "p"])
        #expect(o.kafkaProperties()["sasl.mechanisms"] == "PLAIN")
        #expect(o.kafkaProperties()["ssl.ca.location"] == nil)
    }

    @Test func sslModeIsAppendedOrReplaced() throws {
        #expect(try parse(["--database-sslmode", "require"]).databaseURL()
                == "postgresql://cdra@127.0.0.1:55432/cdra?sslmode=require")
        let o = try parse(["--database-url", "postgres://u@h1:5432,h2:5433/db?application_name=x&sslmode=disable",
                           "--database-sslmode", "verify-full"])
        #expect(o.databaseURL() == "postgres://u@h1:5432,h2:5433/db?application_name=x&sslmode=verify-full")
        let fromEnv = try parse(env: ["CDRA_DATABASE_SSLMODE": "verify-ca"])
        #expect(fromEnv.databaseURL().hasSuffix("?sslmode=verify-ca"))
    }

    @Test func passwordComesFromTheEnvironmentPercentEncoded() throws {
        let o = try parse(env: ["CDRA_DATABASE_PASSWORD": "p@ss w/rd:%"])
        #expect(o.databaseURL() == "postgresql://cdra:p%40ss%20w%2Frd%3A%25@127.0.0.1:55432/cdra")
        let pg = try parse(["--database-sslmode", "require"], env: ["PGPASSWORD": "pgpw"])
        #expect(pg.databaseURL() == "postgresql://cdra:pgpw@127.0.0.1:55432/cdra?sslmode=require")
        let both = try parse(env: ["PGPASSWORD": "pgpw", "CDRA_DATABASE_PASSWORD": "cdrapw"])
        #expect(both.databaseURL().contains(":cdrapw@"))
    }

    @Test func passwordInsideEnvironmentURLIsKept() throws {
        let o = try parse(env: ["CDRA_DATABASE_URL": "postgresql://u:inurl@db/x", "CDRA_DATABASE_PASSWORD": "other"])
        #expect(o.databaseURL() == "postgresql://u:inurl@db/x")
    }

    @Test func urlWithoutUserGetsPasswordAsParameter() throws {
        let o = try parse(["--database-url", "postgresql://db.internal/cdra"], env: ["CDRA_DATABASE_PASSWORD": "pw"])
        #expect(o.databaseURL() == "postgresql://db.internal/cdra?password=pw")
    }

    @Test func conninfoFormGetsSSLModeAndQuotedPassword() throws {
        let o = try parse(["--database-url", "host=127.0.0.1 port=55432 dbname=cdra user=cdra",
                           "--database-sslmode", "prefer"],
                          env: ["CDRA_DATABASE_PASSWORD": "it's secret"])
        #expect(o.databaseURL() == "host=127.0.0.1 port=55432 dbname=cdra user=cdra sslmode=prefer password='it\\'s secret'")
        #expect(o.redactedDatabaseURL() == "host=127.0.0.1 port=55432 dbname=cdra user=cdra sslmode=prefer password=***")
    }

    @Test func redactedDescriptionHoldsNoSecret() throws {
        let secrets = ["kafka-user-7781", "kafka-pass-9931", "db-pass-4417", "url-pass-5521"]
        let options = try parse(["--kafka-security-protocol", "sasl_plaintext", "--database-sslmode", "require"],
                                env: ["CDRA_KAFKA_SASL_USERNAME": secrets[0], "CDRA_KAFKA_SASL_PASSWORD": secrets[1],
                                      "CDRA_DATABASE_PASSWORD": secrets[2],
                                      "CDRA_DATABASE_URL": "postgresql://cdra:\(secrets[3])@db:5432/cdra"])
        // The real outputs do carry them (so the test below is meaningful)...
        #expect(options.kafkaProperties()["sasl.password"] == secrets[1])
        #expect(options.databaseURL().contains(secrets[3]))
        // ...the description does not.
        let description = options.redactedDescription
        for secret in secrets {
            #expect(!description.contains(secret), "\(secret) leaked into \(description)")
        }
        #expect(description.contains("sasl.password=***"))
        #expect(description.contains("postgresql://cdra:***@db:5432/cdra?sslmode=require"))
        #expect(description.contains("security.protocol=sasl_plaintext"))

        let pgOnly = try parse(env: ["PGPASSWORD": secrets[2]])
        #expect(!pgOnly.redactedDescription.contains(secrets[2]))
        #expect(!pgOnly.redactedDatabaseURL().contains(secrets[2]))
    }
}

/// How a service's command embeds the options.
private struct ExampleServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "example-service")
    @OptionGroup var options: ServiceOptions
    @Option var topic = "deeppref.queries.v1"
}

@Suite("ServiceOptions inside a command")
struct ServiceOptionsCommandTests {
    @Test func optionGroupResolvesAndValidatesWithTheCommand() throws {
        let command = try ServiceOptions.$environment.withValue(["CDRA_KAFKA_BROKERS": "env:9092"]) {
            try ExampleServiceCommand.parse(["--topic", "t", "--log-level", "debug"])
        }
        #expect(command.topic == "t")
        #expect(command.options.kafkaBrokers == "env:9092")
        #expect(command.options.logLevel == .debug)

        let bad = ServiceOptions.$environment.withValue([:]) {
            Result { try ExampleServiceCommand.parse(["--http-port", "123456"]) }
        }
        guard case .failure(let error) = bad else {
            Issue.record("an invalid port was accepted")
            return
        }
        #expect(ExampleServiceCommand.message(for: error).contains("HTTP port '123456'"))
    }

    @Test func helpListsTheFlagsButNoInternalState() {
        let help = ExampleServiceCommand.helpMessage()
        for flag in ["--kafka-brokers", "--kafka-security-protocol", "--kafka-sasl-mechanism",
                     "--kafka-ssl-ca-location", "--kafka-session-timeout-ms", "--kafka-heartbeat-interval-ms",
                     "--database-url", "--database-sslmode", "--http-host", "--http-port", "--log-level",
                     "--log-format", "--max-event-bytes", "--shutdown-timeout-seconds"] {
            #expect(help.contains(flag), "\(flag) missing from help")
        }
        #expect(!help.lowercased().contains("captured"))
        #expect(!help.contains("password <"))
    }

    @Test func producerPropertiesLeaveOutConsumerGroupSettings() throws {
        let o = try ServiceOptions.parse([], environment: [:])
        let producer = o.kafkaProperties(includeConsumerGroupSettings: false)
        #expect(producer["session.timeout.ms"] == nil)
        #expect(producer["heartbeat.interval.ms"] == nil)
        #expect(producer["bootstrap.servers"] == "127.0.0.1:19092")
    }

    @Test func passwordAsURLParameterIsRedacted() throws {
        let o = try ServiceOptions.parse([], environment: ["CDRA_DATABASE_URL": "postgresql://db/x?password=qp-8812&sslmode=require"])
        #expect(o.databaseURL().contains("qp-8812"))
        #expect(o.redactedDatabaseURL() == "postgresql://db/x?password=***&sslmode=require")
        #expect(!o.redactedDescription.contains("qp-8812"))
    }
}
