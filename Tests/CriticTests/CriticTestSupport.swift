import Bus
import Critique
import CriticService
import CriticTesting
import Events
import Foundation
import Logging
import Resilience
import ServiceRuntime
import Store

/// One handler on the in-memory bus and a throwaway schema of the local PostgreSQL.
final class CriticHarness: @unchecked Sendable {
    let schema = "test_critic_\(UUID().uuidString.prefix(8).lowercased())"
    let database: Database
    let bus = InMemoryBus(partitionsPerTopic: 2)
    let requestsTopic = "critic.requests.test"
    let repliesTopic = "critic.critiques.test"
    let backends: CriticBackends
    var handler: CritiqueRequestHandler
    private var nextOffset: Int64 = 0

    /// - Parameters:
    ///   - factory: how backends are made; default the fixture.
    ///   - initial: the backend to start with instead of the factory's.
    init(factory: CriticBackendFactory = CriticBackendFactory(kind: .fixture), initial: (any CriticBackend)? = nil,
         now: @escaping @Sendable () -> Date = { Date() }) async throws {
        let url = (try? ServiceOptions.parse([]))?.databaseURL() ?? "postgresql://cdra@127.0.0.1:55432/cdra"
        database = Database(configuration: DatabaseConfiguration(url: url, applicationName: "critic-tests", schema: schema))
        try await Migrator.migrate(database)
        var logger = Logger(label: "critic-tests")
        logger.logLevel = .warning
        backends = CriticBackends(factory: factory, initial: initial, database: database, logger: logger)
        // One partition, so the replies read back in the order they were sent.
        try await bus.createTopic(repliesTopic, partitions: 1)
        handler = CritiqueRequestHandler(
            backends: backends, database: database, bus: bus, requestsTopic: requestsTopic, group: "critic",
            producer: "critic/test", codec: EventCodec(), topics: TopicDirectory(bus: bus, known: [repliesTopic]),
            logger: logger, now: now)
    }

    /// Drops the schema and closes the pool.
    func close() async {
        _ = try? await database.withConnection {
            try $0.execute("DROP SCHEMA IF EXISTS \(PostgresConnection.quoteIdentifier(self.schema)) CASCADE")
        }
        database.shutdown()
    }

    /// A valid request with `steps` steps, answered on the harness's reply topic.
    func request(_ id: String, steps: Int = 2, replyTopic: String? = nil, deadlineMs: Int64? = nil,
                 checkpoint: String? = nil) -> CritiqueRequested {
        CritiqueRequested(
            requestID: id, replyTopic: replyTopic ?? repliesTopic, queryID: "q-\(id)",
            profile: UserProfile(profileID: "p-1", statedPreference: "I prefer plans that leave me independent."),
            question: "How do I keep my family informed without constant calls?", responseID: "r-\(id)",
            steps: (0..<steps).map { "step \($0 + 1) of the plan" }, answer: "Share a weekly summary.",
            deadlineMs: deadlineMs, criticCheckpointID: checkpoint)
    }

    /// The requests as the event processor would hand them over: fresh event ids unless given.
    func events(_ requests: [CritiqueRequested], eventIDs: [UUID]? = nil) -> [DecodedEvent<CritiqueRequested>] {
        requests.enumerated().map { index, request in
            let envelope = EventEnvelope(payload: request, producer: "tests", eventID: eventIDs?[index] ?? UUID())
            defer { nextOffset += 1 }
            return DecodedEvent(envelope: envelope, message: BusMessage(
                topic: requestsTopic, partition: 0, offset: nextOffset, key: Array(request.requestID.utf8),
                value: (try? EventCodec().encode(envelope)) ?? [], timestamp: nil))
        }
    }

    /// Everything on `topic` so far, from the beginning.
    func messages(on topic: String) async throws -> [BusMessage] {
        let consumer = try bus.makeConsumer(topics: [topic], group: "reader-\(UUID().uuidString)")
        defer { Task { await consumer.close() } }
        var all: [BusMessage] = []
        while true {
            let batch = try await consumer.poll(maxMessages: 10_000, timeout: .milliseconds(20))
            if batch.isEmpty { return all }
            all += batch
        }
    }

    /// The replies published on the reply topic, in order.
    func replies(on topic: String? = nil) async throws -> [EventEnvelope<CritiqueProduced>] {
        try await messages(on: topic ?? repliesTopic).map { try EventCodec().decode($0.value, as: CritiqueProduced.self) }
    }

    func count(_ sql: String) async throws -> Int {
        try await database.withConnection { try $0.execute(sql)[0].int(0) ?? 0 }
    }

    /// Stores a checkpoint row with a few bytes of weights.
    /// Stores a checkpoint whose weights are not a model (its id's bytes), under a config naming
    /// the PRM's target, so the prm backend finds it and fails to load it.
    func storeCheckpoint(_ id: String, kind: String = "prm", step: Int) async throws {
        try await database.withConnection {
            _ = try CheckpointRepository($0).save(CheckpointRecord(checkpointID: id, modelKind: kind, runID: "run-1", step: step,
                                                                   configJSON: "{\"training\":{\"target\":\"critique\"}}",
                                                                   safetensors: Array(id.utf8)))
        }
    }
}

/// A backend that records the micro-batches it is given and answers like the fixture; it can be
/// held inside a call until released, and made to fail.
final class RecordingCritic: CriticBackend, @unchecked Sendable {
    let name = "fixture"
    let checkpointID: String?
    private let fixture: FixtureCritic
    let calls = Locked<[[String]]>([])
    private let gate = Locked<CheckedContinuation<Void, Never>?>(nil)
    private let holding: Bool
    let failure: (any Error)?

    init(checkpointID: String? = nil, holding: Bool = false, failure: (any Error)? = nil) {
        self.checkpointID = checkpointID
        self.fixture = FixtureCritic(checkpointID: checkpointID)
        self.holding = holding
        self.failure = failure
    }

    var entered: Bool { !calls.current.isEmpty }

    /// Lets a held call go on.
    func release() {
        gate.withLock { $0?.resume(); $0 = nil }
    }

    func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        if holding {
            await withCheckedContinuation { continuation in
                gate.withLock { $0 = continuation }
                calls.withLock { $0.append(requests.map(\.requestID)) }
            }
        } else {
            calls.withLock { $0.append(requests.map(\.requestID)) }
        }
        if let failure { throw failure }
        return try await fixture.critique(requests)
    }
}

struct TestBackendError: RetriableError, CustomStringConvertible {
    var isRetriable: Bool
    var description: String { isRetriable ? "endpoint busy" : "model file corrupt" }
}

/// Waits until `condition` holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
