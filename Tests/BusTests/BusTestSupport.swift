import Bus
import ServiceRuntime
import Events
import Foundation
import Logging
import Testing
import Resilience

/// The two implementations the shared tests run against.
enum BusKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case kafka
    case memory

    var testDescription: String { rawValue }

    func makeBus(partitionsPerTopic: Int = 1) throws -> any MessageBus {
        switch self {
        case .kafka: return try KafkaBus(configuration: testKafkaConfiguration(), logger: testLogger("kafka-bus"))
        case .memory: return InMemoryBus(partitionsPerTopic: partitionsPerTopic)
        }
    }
}

/// The local broker from the environment (`CDRA_KAFKA_BROKERS`), default 127.0.0.1:19092.
func testKafkaConfiguration() -> KafkaConfiguration {
    // The service options are the one reader of the environment.
    var configuration = (try? ServiceOptions.parse([]))?.kafkaConfiguration() ?? KafkaConfiguration()
    configuration.clientID = "cdra-bus-tests"
    return configuration
}

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["CDRA_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}

/// A topic or group name no other run uses.
func uniqueName(_ prefix: String) -> String {
    "bus-test.\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
}

/// Polls until `count` messages arrived or `timeout` passed; commits each batch when asked.
func collect(_ consumer: any MessageConsumer, count: Int, timeout: Duration, commit: Bool = false) async throws -> [BusMessage] {
    var received: [BusMessage] = []
    let deadline = ContinuousClock.now + timeout
    while received.count < count, ContinuousClock.now < deadline {
        let batch = try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
        received += batch
        if commit && !batch.isEmpty { try await consumer.commit(batch) }
    }
    return received
}

/// Polls for `duration` and returns whatever arrives (to show that nothing more comes).
func drain(_ consumer: any MessageConsumer, for duration: Duration) async throws -> [BusMessage] {
    var received: [BusMessage] = []
    let deadline = ContinuousClock.now + duration
    while ContinuousClock.now < deadline {
        received += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(100))
    }
    return received
}

/// Waits until `condition` holds, checking every 20 ms; false on timeout.
func eventually(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

func text(_ bytes: [UInt8]?) -> String? {
    bytes.map { String(decoding: $0, as: UTF8.self) }
}

final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { withLock { $0 } }
}

// MARK: - Events

func makeQueryEvent(_ index: Int, question: String? = nil) -> EventEnvelope<QuerySubmitted> {
    EventEnvelope(
        payload: QuerySubmitted(
            queryID: "q-\(index)",
            profile: UserProfile(profileID: "p-\(index % 7)", statedPreference: "I prefer short answers"),
            question: question ?? "How do I plan question \(index)?"),
        producer: "bus-tests")
}

func encodeEvent(_ index: Int, question: String? = nil) throws -> (EventEnvelope<QuerySubmitted>, [UInt8]) {
    let event = makeQueryEvent(index, question: question)
    return (event, try EventCodec().encode(event))
}

/// A valid event's JSON, changed by `edit`.
func editedEvent(_ index: Int, _ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
    let (_, bytes) = try encodeEvent(index)
    var object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    edit(&object)
    return [UInt8](try JSONSerialization.data(withJSONObject: object))
}

/// A handler error whose retriability the test chooses.
struct TestHandlerError: RetriableError, CustomStringConvertible {
    var isRetriable: Bool
    var detail: String
    var description: String { "test handler error: \(detail)" }
}
