import Bus
import ServiceRuntime
import Settings
import Foundation
import Logging
import Testing

@Suite("Kafka bus: runtime, configuration and failures")
struct KafkaBusTests {
    @Test("the librdkafka loaded at run time is the stack's 2.x, not Debian's 2.0.2")
    func runtimeVersion() {
        let version = KafkaBus.librdkafkaVersion
        print("librdkafka runtime version: \(version)")
        let parts = version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count >= 2)
        #expect(parts[0] > 2 || (parts[0] == 2 && parts[1] >= 1), "librdkafka \(version) cannot talk to the local broker; set LD_LIBRARY_PATH=.stack/lib")
    }

    @Test("send throws brokerUnavailable when no broker answers")
    func sendFailsWhenBrokerUnreachable() async throws {
        var configuration = KafkaConfiguration(brokers: "127.0.0.1:1")
        configuration.properties = ["message.timeout.ms": "1500", "socket.connection.setup.timeout.ms": "1000"]
        let bus = try KafkaBus(configuration: configuration, logger: testLogger("unreachable"))
        let start = ContinuousClock.now
        await #expect {
            try await bus.send([OutgoingMessage(topic: "nowhere", key: "k", value: [1, 2, 3]),
                                OutgoingMessage(topic: "nowhere", key: "k", value: [4])])
        } throws: { error in
            guard let error = error as? BusError else { return false }
            print("unreachable broker error: \(error)")
            return error.code == .brokerUnavailable && error.isRetriable
                && error.message.contains("2 of 2") && error.message.contains("127.0.0.1:1")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("configuration comes from the environment; invalid values are reported")
    func configurationFromEnvironment() throws {
        let configuration = try ServiceOptions.parse([], environment: [
            "CDRA_KAFKA_BROKERS": "b1:9092,b2:9092",
            "CDRA_KAFKA_SESSION_TIMEOUT_MS": "9000",
            "CDRA_KAFKA_PROP_SECURITY_PROTOCOL": "SASL_SSL",
            "CDRA_KAFKA_PROP_SASL_PASSWORD": "hunter2",
        ]).kafkaConfiguration()
        #expect(configuration.brokers == "b1:9092,b2:9092")
        #expect(configuration.sessionTimeoutMs == 9000)
        #expect(configuration.heartbeatIntervalMs == 1000)
        #expect(configuration.properties == ["client.id": "cdra", "bootstrap.servers": "b1:9092,b2:9092",
                                             "security.protocol": "SASL_SSL", "sasl.password": "hunter2"])
        #expect(configuration.redactedProperties["sasl.password"] == Redaction.marker)
        #expect(configuration.redactedProperties["security.protocol"] == "SASL_SSL")
        try configuration.validate()

        let defaults = try ServiceOptions.parse([], environment: [:]).kafkaConfiguration()
        #expect(defaults.brokers == "127.0.0.1:19092" && defaults.clientID == "cdra")

        #expect(throws: (any Error).self) {
            try ServiceOptions.parse([], environment: ["CDRA_KAFKA_HEARTBEAT_INTERVAL_MS": "soon"])
        }
        var inverted = KafkaConfiguration()
        inverted.heartbeatIntervalMs = 7000
        #expect(throws: BusError.self) { try inverted.validate() }
    }

    @Test("secret property values never reach the log or an error")
    func secretsAreNotLogged() throws {
        let lines = Box<[String]>([])
        var logger = Logger(label: "capture") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .trace
        var configuration = KafkaConfiguration()
        configuration.properties = ["sasl.username": "alice", "sasl.password": "hunter2-secret-value"]
        _ = try KafkaBus(configuration: configuration, logger: logger)
        let logged = lines.current.joined(separator: "\n")
        #expect(logged.contains("kafka bus ready"))
        #expect(!logged.contains("hunter2"))

        configuration.properties = ["no.such.property": "x"]
        #expect(throws: BusError.self) { try KafkaBus(configuration: configuration, logger: logger) }
    }
}

struct CapturingLogHandler: LogHandler {
    let lines: Box<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
    }
}
