import Bus
import Events
import Foundation
import Testing

/// No password, SASL secret or API key reaches anything CDRA writes: a service's logs, the events
/// it publishes, `/metrics` and `/health`, `cdra status`, or the text of an error.
@Suite("secrets stay secret", .serialized)
struct SecretsEndToEndTests {
    /// Distinct, greppable secrets; each long enough that a partial leak would still show.
    static let secrets = [
        "db-pass-Xq7rT2vLw9", "sasl-user-Hk3mN8pQ", "sasl-pass-Zr5tY1uIo0", "prop-secret-Jb6nM4kLs2",
        "sk-llm-key-Wd8fG3hJk5",
    ]

    /// The environment of a process configured with every kind of secret CDRA accepts. The local
    /// stack trusts loopback, so the database password is carried but not needed, and the broker
    /// speaks plaintext, so the SASL credentials are configured and ignored.
    func secretEnvironment(_ context: EndToEndContext) -> [String: String] {
        var env = context.childEnvironment
        env["CDRA_DATABASE_PASSWORD"] = Self.secrets[0]
        env["CDRA_KAFKA_SASL_USERNAME"] = Self.secrets[1]
        env["CDRA_KAFKA_SASL_PASSWORD"] = Self.secrets[2]
        env["CDRA_KAFKA_PROP_SASL_OAUTHBEARER_CLIENT_SECRET"] = Self.secrets[3]
        env["CDRA_LLM_API_KEY"] = Self.secrets[4]
        return env
    }

    func expectNoSecret(_ text: String, in place: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in Self.secrets {
            #expect(!text.contains(secret), "a secret appears in \(place)", sourceLocation: sourceLocation)
        }
    }

    @Test("a running service: logs, published events, /metrics, /health and cdra status")
    func runningServiceLeaksNoSecret() async throws {
        let context = EndToEndContext()
        let database = context.makeDatabase()
        defer { Task { await context.dropSchema(database) } }
        let bus = try context.makeBus()
        try await bus.createTopic(context.queriesTopic, partitions: 2)
        try await bus.createTopic(context.annotationsTopic, partitions: 2)
        let generator = try ChildProcess.start(
            executable: EndToEndContext.binDirectory.appendingPathComponent("council-generator"),
            arguments: ["--group", context.group, "--replica-id", "secrets", "--queries-topic", context.queriesTopic,
                        "--annotations-topic", context.annotationsTopic, "--http-port", "0", "--log-level", "debug"],
            environment: secretEnvironment(context), logName: "\(context.suffix)-secrets")
        let queries = context.makeQueries(20)
        try await context.send(queries, bus: bus)
        #expect(try await context.waitForProcessed(database, expected: queries.count, timeout: .seconds(120)) == queries.count)

        // The operations endpoints, on the port the service logged.
        let port = try #require(Self.operationsPort(in: generator.log), "no operations port in: \(generator.log.suffix(1500))")
        let metrics = try Self.httpGet(port: port, path: "/metrics")
        let health = try Self.httpGet(port: port, path: "/health")
        #expect(metrics.contains("cdra_http_requests_total") || metrics.contains("# TYPE"))
        #expect(health.contains("\"status\":\"ok\""), "health: \(health)")
        expectNoSecret(metrics, in: "/metrics")
        expectNoSecret(health, in: "/health")

        // Every published annotation event, byte for byte.
        let consumer = try bus.makeConsumer(topics: [context.annotationsTopic], group: "e2e-secrets-\(context.suffix)")
        var events: [String] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while events.count < queries.count, ContinuousClock.now < deadline {
            events += try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500)).map { String(decoding: $0.value, as: UTF8.self) }
        }
        await consumer.close()
        #expect(events.count >= queries.count)
        expectNoSecret(events.joined(separator: "\n"), in: "published events")

        #expect(generator.terminate() == 0)
        let log = generator.log
        #expect(log.contains("starting") && log.contains("***"), "the start-up line shows redacted settings: \(log.prefix(1500))")
        expectNoSecret(log, in: "the service log")

        // cdra status, with the same secrets configured.
        let status = try ChildProcess.runCapturing(
            EndToEndContext.binDirectory.appendingPathComponent("cdra").path,
            ["status", "--group", context.group, "--topic", context.queriesTopic],
            environment: secretEnvironment(context))
        #expect(status.status == 0, "cdra status failed: \(status.output)")
        #expect(status.output.contains("total lag"))
        expectNoSecret(status.output, in: "cdra status output")
    }

    @Test("error texts: an unreachable database named with a password in its URL")
    func errorTextsLeakNoSecret() throws {
        let context = EndToEndContext()
        var env = secretEnvironment(context)
        // Nothing listens on port 1; the URL itself carries the password.
        env["CDRA_DATABASE_URL"] = "postgresql://cdra:\(Self.secrets[0])@127.0.0.1:1/cdra"
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let status = try ChildProcess.runCapturing(cdra, ["status"], environment: env)
        #expect(status.status != 0)
        #expect(status.output.contains("127.0.0.1"), "the error says where it tried: \(status.output)")
        expectNoSecret(status.output, in: "cdra status's error")

        let service = try ChildProcess.runCapturing(
            EndToEndContext.binDirectory.appendingPathComponent("council-generator").path,
            ["--group", context.group, "--queries-topic", context.queriesTopic, "--annotations-topic", context.annotationsTopic,
             "--http-port", "-1", "--startup-timeout-seconds", "2"], environment: env)
        #expect(service.status != 0, "the service cannot start without its database")
        #expect(service.output.contains("connectionFailed") || service.output.contains("cannot connect"), "\(service.output.suffix(1500))")
        expectNoSecret(service.output, in: "the service's start-up error")
    }

    // MARK: - Helpers

    static func operationsPort(in log: String) -> Int? {
        guard let range = log.range(of: "operations endpoint") else { return nil }
        let rest = log[range.upperBound...]
        guard let port = rest.range(of: "port=") else { return nil }
        return Int(rest[port.upperBound...].prefix { $0.isNumber })
    }

    /// A plain HTTP/1.1 GET over loopback; returns head and body as text.
    static func httpGet(port: Int, path: String) throws -> String {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        return try String(contentsOf: url, encoding: .utf8)
    }
}
