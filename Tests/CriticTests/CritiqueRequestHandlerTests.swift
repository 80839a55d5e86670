import Bus
import Critique
import CriticService
import CriticTesting
import Events
import Foundation
import Logging
import Store
import Testing

/// The critic's handler on the in-memory bus and the local PostgreSQL.
@Suite("critic handler")
struct CritiqueRequestHandlerTests {
    @Test("a micro-batch goes to the backend in one call, and every request gets its reply")
    func microBatchIsOneBackendCall() async throws {
        let backend = RecordingCritic()
        let harness = try await CriticHarness(initial: backend)
        defer { Task { await harness.close() } }
        let requests = (0..<5).map { harness.request("r\($0)", steps: $0) }
        try await harness.handler.handle(harness.events(requests))

        #expect(backend.calls.current == [requests.map(\.requestID)])
        let replies = try await harness.replies()
        #expect(replies.map(\.payload.requestID) == requests.map(\.requestID))
        #expect(replies.allSatisfy { $0.payload.status == .ok })
        #expect(replies.map(\.payload.finalScore) == (0..<5).map { FixtureCritic.score(stepCount: $0) })
        #expect(replies.map { $0.payload.stepVerdicts.count } == Array(0..<5))
        #expect(try await harness.count("SELECT count(*) FROM critiques") == 5)
        #expect(try await harness.count("SELECT count(*) FROM processed_events WHERE consumer = 'critic'") == 5)
    }

    @Test("through the event processor, requests that trickle in are critiqued in micro-batches of at most max-batch")
    func processorMicroBatches() async throws {
        let backend = RecordingCritic()
        let harness = try await CriticHarness(initial: backend)
        defer { Task { await harness.close() } }
        try await harness.bus.createTopic(harness.requestsTopic, partitions: 1)
        var configuration = EventProcessorConfiguration(maxBatch: 4)
        // Far longer than the trickle takes: each batch fills up to max-batch before the window closes.
        configuration.maxWait = .seconds(10)
        let handler = harness.handler
        let processor = EventProcessor<CritiqueRequested>(
            bus: harness.bus, topic: harness.requestsTopic, group: "critic", configuration: configuration,
            logger: Logger(label: "critic-tests")) { batch in try await handler.handle(batch) }
        let running = Task { try await processor.run() }
        let requests = (0..<12).map { harness.request("t\($0)") }
        for request in requests {
            let envelope = EventEnvelope(payload: request, producer: "tests")
            try await harness.bus.send([OutgoingMessage(topic: harness.requestsTopic, key: request.requestID,
                                                        value: try EventCodec().encode(envelope))])
            try await Task.sleep(for: .milliseconds(5))
        }
        let answered = try await eventually(timeout: .seconds(60)) { try await harness.replies().count == 12 }
        running.cancel()
        try await running.value
        #expect(answered)
        #expect(backend.calls.current.map(\.count) == [4, 4, 4])
        #expect(backend.calls.current.flatMap { $0 } == requests.map(\.requestID))
    }

    @Test("a request sent again, under the same or a new event id, gets the stored reply and no second row")
    func replayGetsTheStoredAnswer() async throws {
        let backend = RecordingCritic()
        let harness = try await CriticHarness(initial: backend)
        defer { Task { await harness.close() } }
        let request = harness.request("again", steps: 3)
        let first = harness.events([request])
        try await harness.handler.handle(first)
        // Redelivered (same event id), then sent again by the requester (new event id), and twice
        // within one batch.
        try await harness.handler.handle(harness.events([request], eventIDs: [first[0].envelope.eventID]))
        let resent = harness.events([request, request])
        try await harness.handler.handle(resent)

        #expect(backend.calls.current.count == 1, "critiqued once: \(backend.calls.current)")
        #expect(try await harness.count("SELECT count(*) FROM critiques") == 1)
        let replies = try await harness.replies()
        #expect(replies.count == 4)
        #expect(replies.allSatisfy { $0.payload == replies[0].payload }, "every reply carries the stored answer")
        let original = DerivedEventID.make(from: first[0].envelope.eventID, purpose: .critique)
        #expect(replies.map(\.eventID) == [original, original,
                                           DerivedEventID.make(from: resent[0].envelope.eventID, purpose: .critique),
                                           DerivedEventID.make(from: resent[1].envelope.eventID, purpose: .critique)])
    }

    @Test("a request whose deadline has passed is answered failed without the backend")
    func expiredDeadlineFailsWithoutTheBackend() async throws {
        let backend = RecordingCritic()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let harness = try await CriticHarness(initial: backend, now: { now })
        defer { Task { await harness.close() } }
        let nowMs: Int64 = 1_800_000_000_000
        try await harness.handler.handle(harness.events([
            harness.request("late", deadlineMs: nowMs - 1_500), harness.request("in-time", deadlineMs: nowMs + 60_000),
        ]))
        #expect(backend.calls.current == [["in-time"]])
        let replies = try await harness.replies()
        let late = try #require(replies.first { $0.payload.requestID == "late" }?.payload)
        #expect(late.status == .failed)
        #expect(late.error == "deadline passed 1500 ms ago")
        #expect(late.finalScore == nil && late.stepVerdicts.isEmpty)
        #expect(replies.first { $0.payload.requestID == "in-time" }?.payload.status == .ok)
    }

    @Test("a request naming a checkpoint: unknown or not a prm one fails saying so; a stored prm one is loaded and scores")
    func namedCheckpoints() async throws {
        let backend = RecordingCritic()
        let harness = try await CriticHarness(initial: backend)
        defer { Task { await harness.close() } }
        try await harness.storeCheckpoint("policy-7", kind: "policy", step: 7)
        try await harness.storeCheckpoint("prm-3", step: 3)
        try await harness.handler.handle(harness.events([
            harness.request("unknown", checkpoint: "prm-missing"), harness.request("policy", checkpoint: "policy-7"),
            harness.request("pinned", checkpoint: "prm-3"), harness.request("current"),
        ]))
        #expect(backend.calls.current == [["current"]], "only the request without a checkpoint reached the current backend")
        let replies = Dictionary(uniqueKeysWithValues: try await harness.replies().map { ($0.payload.requestID, $0.payload) })
        #expect(replies["unknown"]?.status == .failed)
        #expect(replies["unknown"]?.error == "critic checkpoint 'prm-missing' does not exist")
        #expect(replies["policy"]?.error == "checkpoint 'policy-7' is a policy checkpoint, not a prm one")
        #expect(replies["pinned"]?.status == .ok)
        #expect(replies["pinned"]?.criticCheckpointID == "prm-3")
        #expect(replies["current"]?.status == .ok && replies["current"]?.criticCheckpointID == nil)
        let stored = try await harness.database.withConnection {
            try CritiqueRepository($0).load(requestIDs: ["unknown", "pinned", "current"])
        }
        #expect(stored["pinned"] == replies["pinned"] && stored["unknown"] == replies["unknown"])
    }

    @Test("a reply to a topic that does not exist is dead-lettered with the reason and the reply; the topic is not created")
    func undeliverableReplyIsDeadLettered() async throws {
        let harness = try await CriticHarness()
        defer { Task { await harness.close() } }
        let lost = harness.request("lost", replyTopic: "critic.nowhere")
        try await harness.handler.handle(harness.events([lost, harness.request("fine")]))

        #expect(try await harness.bus.partitionCount(of: "critic.nowhere") == nil)
        #expect(try await harness.replies().map(\.payload.requestID) == ["fine"])
        let letters = try await harness.messages(on: DeadLetter.topic(for: harness.requestsTopic)).map { try DeadLetter.decode($0.value) }
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.code == DeadLetter.undeliverableCode)
        #expect(letter.reason.contains("reply topic 'critic.nowhere' does not exist"))
        #expect(letter.undeliveredTopic == "critic.nowhere")
        let undelivered = try EventCodec().decode(try #require(letter.undeliveredValue), as: CritiqueProduced.self)
        #expect(undelivered.payload.requestID == "lost" && undelivered.payload.status == .ok)
        #expect(try EventCodec().decode(letter.originalValue, as: CritiqueRequested.self).payload == lost)
        #expect(try await harness.count("SELECT count(*) FROM critiques") == 2)
    }

    @Test("a swap during a micro-batch: the batch in flight is answered by the old backend, later ones by the new, each once")
    func swapKeepsInFlightRequests() async throws {
        let held = RecordingCritic(holding: true)
        var factory = CriticBackendFactory(kind: .fixture)
        factory.loaderOverride = { record in FixtureCritic(checkpointID: record.checkpointID) }
        let harness = try await CriticHarness(factory: factory, initial: held)
        defer { Task { await harness.close() } }
        let handler = harness.handler
        let inFlight = harness.events((0..<3).map { harness.request("before-\($0)") })
        let running = Task { try await handler.handle(inFlight) }
        #expect(await eventually { held.entered })

        try await harness.storeCheckpoint("prm-9", step: 9)
        #expect(try await harness.backends.refresh())
        #expect(harness.backends.current.checkpointID == "prm-9")
        held.release()
        try await running.value
        try await harness.handler.handle(harness.events((0..<2).map { harness.request("after-\($0)") }))

        let replies = try await harness.replies()
        #expect(replies.map(\.payload.requestID) == ["before-0", "before-1", "before-2", "after-0", "after-1"])
        #expect(replies.prefix(3).allSatisfy { $0.payload.criticCheckpointID == nil })
        #expect(replies.suffix(2).allSatisfy { $0.payload.criticCheckpointID == "prm-9" })
        #expect(try await harness.count("SELECT count(*) FROM critiques") == 5)
        #expect(try await !harness.backends.refresh(), "the newest checkpoint is already in use")
    }

    @Test("a prm replica without a checkpoint answers failed, naming the command that trains one")
    func prmWithoutCheckpointFails() async throws {
        let harness = try await CriticHarness(factory: CriticBackendFactory(kind: .prm))
        defer { Task { await harness.close() } }
        try await harness.backends.refresh()
        #expect(!harness.backends.isReady)
        try await harness.handler.handle(harness.events([harness.request("early")]))
        let reply = try #require(try await harness.replies().first?.payload)
        #expect(reply.status == .failed)
        #expect(reply.error?.contains("critic train") == true, "\(reply.error ?? "")")

        // A checkpoint that the reward model cannot load (not a safetensors file) keeps it failing, with the reason.
        try await harness.storeCheckpoint("prm-1", step: 1)
        #expect(try await !harness.backends.refresh())
        #expect(!harness.backends.isReady)
        try await harness.handler.handle(harness.events([harness.request("still-early")]))
        let second = try #require(try await harness.replies().last?.payload)
        #expect(second.error?.contains("prm checkpoint prm-1 could not be loaded") == true, "\(second.error ?? "")")
    }

    @Test("a backend failure: retriable is thrown for the processor to retry; any other answers each request failed")
    func backendFailures() async throws {
        let busy = try await CriticHarness(initial: RecordingCritic(failure: TestBackendError(isRetriable: true)))
        defer { Task { await busy.close() } }
        await #expect(throws: TestBackendError.self) { try await busy.handler.handle(busy.events([busy.request("x")])) }
        #expect(try await busy.count("SELECT count(*) FROM critiques") == 0)

        let broken = try await CriticHarness(initial: RecordingCritic(failure: TestBackendError(isRetriable: false)))
        defer { Task { await broken.close() } }
        try await broken.handler.handle(broken.events([broken.request("y"), broken.request("z")]))
        let replies = try await broken.replies()
        #expect(replies.map(\.payload.status) == [.failed, .failed])
        #expect(replies.allSatisfy { $0.payload.error == "the fixture backend failed: model file corrupt" })
    }

    @Test("a reply that is not a valid event (a score out of range) is stored and sent as failed, naming the problem")
    func invalidBackendReplyBecomesFailed() async throws {
        struct OutOfRange: CriticBackend {
            let name = "fixture"
            let checkpointID: String? = nil
            func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
                requests.map { _ in
                    .scored(CritiqueChain(stepVerdicts: [StepVerdict(index: 1, critique: "fine", score: 3)],
                                          answerVerdict: AnswerVerdict(critique: "fine", score: 0.5), finalScore: 0.5),
                            text: "Step 1: fine Score: 3", attempts: 1)
                }
            }
        }
        let harness = try await CriticHarness(initial: OutOfRange())
        defer { Task { await harness.close() } }
        try await harness.handler.handle(harness.events([harness.request("bad", steps: 1)]))
        let reply = try #require(try await harness.replies().first?.payload)
        #expect(reply.status == .failed)
        #expect(reply.error?.contains("step_verdicts[0].score 3.0 is outside [-1, 1]") == true, "\(reply.error ?? "")")
    }
}
