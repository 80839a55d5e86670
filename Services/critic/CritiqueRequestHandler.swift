import Bus
import Critique
import Events
import Foundation
import Logging
import Metrics
import Resilience
import Store

/// The critic's business logic, independent of how requests arrive: answers each micro-batch of
/// critique requests with one backend call, stores every reply by request id and publishes it
/// on the request's reply topic.
///
/// Idempotent by request id: a request whose reply is stored (a redelivery, or the same request
/// sent again under a new event id) gets the stored reply again and no second row; the reply's
/// event id derives from the request's event id, so a redelivered event is answered under the
/// same id.
public struct CritiqueRequestHandler: Sendable {
    /// The name under which the critic records processed events.
    public static let consumerName = "critic"

    let backends: CriticBackends
    let database: Database
    let bus: any MessageBus
    /// Where requests are read; undeliverable replies go to its dead-letter topic.
    let requestsTopic: String
    /// The consumer group, named in dead letters.
    let group: String
    /// The `producer` of published replies.
    let producer: String
    /// Encodes replies (same size limit as the consumer's).
    let codec: EventCodec
    let topics: TopicDirectory
    let logger: Logger
    /// The wall clock deadlines are compared with.
    let now: @Sendable () -> Date

    public init(backends: CriticBackends, database: Database, bus: any MessageBus, requestsTopic: String, group: String,
                producer: String, codec: EventCodec, topics: TopicDirectory, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.backends = backends
        self.database = database
        self.bus = bus
        self.requestsTopic = requestsTopic
        self.group = group
        self.producer = producer
        self.codec = codec
        self.topics = topics
        self.logger = logger
        self.now = now
    }

    private static let batchSize = Recorder(label: "cdra_critic_batch_size", aggregate: true)
    private static let replayed = Counter(label: "cdra_critic_replayed_total")
    private static let undeliverable = Counter(label: "cdra_critic_undeliverable_total")
    private static let requestLatency = Timer(label: "cdra_critic_request_seconds")

    /// One micro-batch: critique what is not answered yet, store it with the ledger claims in one
    /// transaction, then publish a reply for every event of the batch (replays included, so a
    /// crash between the commit and the send loses no reply). The processor commits the offsets
    /// after this returns.
    public func handle(_ batch: [DecodedEvent<CritiqueRequested>]) async throws {
        Self.batchSize.record(batch.count)
        // A swap during this batch does not touch it: it is answered by the backend it started with.
        let backend = backends.current
        let requestIDs = Self.unique(batch.map(\.envelope.payload.requestID))
        let answered = try await database.withConnection { try CritiqueRepository($0).load(requestIDs: requestIDs) }
        var seen = Set(answered.keys)
        let pending = batch.filter { seen.insert($0.envelope.payload.requestID).inserted }
        if batch.count > pending.count { Self.replayed.increment(by: batch.count - pending.count) }
        logger.debug("critiquing a micro-batch", metadata: [
            "events": "\(batch.count)", "new": "\(pending.count)", "backend": "\(backend.checkpointID ?? backend.name)"])

        let replies = try await critique(pending, current: backend)
        let references = batch.map {
            EventReference(eventID: $0.envelope.eventID, topic: $0.message.topic, partition: $0.message.partition,
                           offset: $0.message.offset)
        }
        let byBackend = Dictionary(grouping: replies, by: \.backendName)
        let stored = try await database.transaction { connection in
            _ = try ProcessedEventLedger(connection).claim(references, consumer: Self.consumerName)
            for (name, rows) in byBackend.sorted(by: { $0.key < $1.key }) {
                try CritiqueRepository(connection).store(rows.map { ($0.produced, $0.sourceEventID) }, backend: name)
            }
            return try CritiqueRepository(connection).load(requestIDs: requestIDs)
        }
        try await publish(batch, answers: stored)
        let sent = Date()
        for event in pending { Self.requestLatency.recordSeconds(max(0, sent.timeIntervalSince(event.envelope.producedAt))) }
        logger.debug("answered a micro-batch", metadata: ["events": "\(batch.count)"])
    }

    // MARK: - Critiquing

    /// A reply made for this batch, with the backend that made it and the event it answers.
    struct Reply {
        var produced: CritiqueProduced
        var backendName: String
        var sourceEventID: UUID
    }

    /// Replies for requests not answered before: expired ones fail without the backend, the rest
    /// go to the backend of the checkpoint they name (one call per backend, usually one).
    private func critique(_ pending: [DecodedEvent<CritiqueRequested>], current: any CriticBackend) async throws -> [Reply] {
        var replies: [Reply] = []
        replies.reserveCapacity(pending.count)
        let nowMs = Int64((now().timeIntervalSince1970 * 1000).rounded(.down))
        var byCheckpoint: [String?: [DecodedEvent<CritiqueRequested>]] = [:]
        for event in pending {
            let request = event.envelope.payload
            if let deadline = request.deadlineMs, deadline < nowMs {
                replies.append(Reply(produced: CritiqueOutcome.failed("deadline passed \(nowMs - deadline) ms ago")
                                        .produced(for: request, checkpointID: nil),
                                     backendName: current.name, sourceEventID: event.envelope.eventID))
            } else {
                byCheckpoint[request.criticCheckpointID, default: []].append(event)
            }
        }
        // The current backend first, then named checkpoints in a fixed order.
        for (checkpointID, events) in byCheckpoint.sorted(by: { ($0.key ?? "") < ($1.key ?? "") }) {
            var resolution = CriticBackends.Resolution.backend(current)
            if let checkpointID { resolution = try await backends.backend(forCheckpoint: checkpointID, current: current) }
            switch resolution {
            case .failed(let reason):
                for event in events {
                    replies.append(Reply(produced: CritiqueOutcome.failed(reason).produced(for: event.envelope.payload, checkpointID: nil),
                                         backendName: current.name, sourceEventID: event.envelope.eventID))
                }
            case .backend(let backend):
                let requests = events.map(\.envelope.payload)
                let outcomes = try await run(backend, requests)
                for (event, outcome) in zip(events, outcomes) {
                    replies.append(Reply(produced: valid(outcome.produced(for: event.envelope.payload, checkpointID: backend.checkpointID),
                                                         backend: backend),
                                         backendName: backend.name, sourceEventID: event.envelope.eventID))
                }
            }
        }
        for reply in replies {
            Counter(label: "cdra_critic_critiques_total", dimensions: [("status", reply.produced.status.rawValue)]).increment()
        }
        return replies
    }

    /// One backend call for the micro-batch. Retriable failures are rethrown (the processor retries
    /// the batch); any other failure answers each request `failed` with the reason.
    private func run(_ backend: any CriticBackend, _ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        let started = ContinuousClock.now
        defer {
            Timer(label: "cdra_critic_backend_seconds", dimensions: [("backend", backend.name)])
                .recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        }
        let outcomes: [CritiqueOutcome]
        do {
            outcomes = try await backend.critique(requests)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as any RetriableError where error.isRetriable {
            throw error
        } catch {
            logger.error("critic backend failed on a micro-batch", metadata: ["backend": "\(backend.name)", "error": "\(error)"])
            return requests.map { _ in .failed("the \(backend.name) backend failed: \(error)") }
        }
        guard outcomes.count == requests.count else {
            logger.error("critic backend returned the wrong number of outcomes", metadata: [
                "backend": "\(backend.name)", "outcomes": "\(outcomes.count)", "requests": "\(requests.count)"])
            return requests.map { _ in .failed("the \(backend.name) backend returned \(outcomes.count) outcomes for \(requests.count) requests") }
        }
        return outcomes
    }

    /// `produced` when it is a valid event, else a `failed` reply naming the problem: a reply that
    /// could never be published is reported, not stored.
    private func valid(_ produced: CritiqueProduced, backend: any CriticBackend) -> CritiqueProduced {
        do {
            _ = try codec.encode(EventEnvelope(payload: produced, producer: producer))
            return produced
        } catch {
            logger.warning("critic backend wrote a reply that is not a valid event", metadata: [
                "request_id": "\(produced.requestID)", "error": "\(error)"])
            var reason = "the \(backend.name) backend's reply is not a valid critique_produced event: \(error)"
            reason.removeAll { $0 == "\u{0}" }
            return CritiqueProduced(requestID: produced.requestID, responseID: produced.responseID,
                                    criticCheckpointID: backend.checkpointID, status: .failed,
                                    error: String(reason.prefix(2000)), attempts: max(1, produced.attempts))
        }
    }

    // MARK: - Replies

    /// Publishes the stored reply of every event on its request's reply topic. A reply whose topic
    /// does not exist is not sent (the broker would create the topic); it is dead-lettered with the
    /// request and the reason, and the batch goes on.
    private func publish(_ batch: [DecodedEvent<CritiqueRequested>], answers: [String: CritiqueProduced]) async throws {
        let missing = try await topics.missing(among: Set(batch.map(\.envelope.payload.replyTopic)))
        var messages: [OutgoingMessage] = []
        var letters: [DeadLetter] = []
        messages.reserveCapacity(batch.count)
        for event in batch {
            let request = event.envelope.payload
            guard let answer = answers[request.requestID] else {
                throw StoreError(.queryFailed, "the reply to request \(request.requestID) was stored but cannot be read back")
            }
            let envelope = EventEnvelope(payload: answer, producer: producer,
                                         correlationID: event.envelope.correlationID ?? request.requestID,
                                         eventID: DerivedEventID.make(from: event.envelope.eventID, purpose: .critique))
            let value = try codec.encode(envelope)
            if missing.contains(request.replyTopic) {
                var letter = DeadLetter(
                    message: event.message,
                    reason: "reply topic '\(request.replyTopic)' does not exist, so the reply to request '\(request.requestID)' was not delivered; it is stored in critiques and sent again when the request is replayed after the topic is created",
                    code: DeadLetter.undeliverableCode, consumerGroup: group)
                letter.undeliveredTopic = request.replyTopic
                letter.undeliveredValueBase64 = Data(value).base64EncodedString()
                letters.append(letter)
            } else {
                messages.append(OutgoingMessage(topic: request.replyTopic, key: Array(request.requestID.utf8), value: value))
            }
        }
        try await bus.send(messages)
        if !letters.isEmpty {
            for letter in letters {
                logger.warning("reply not delivered: its topic does not exist", metadata: [
                    "request_topic_offset": "\(letter.partition):\(letter.offset)", "reply_topic": "\(letter.undeliveredTopic ?? "")"])
            }
            let topic = DeadLetter.topic(for: requestsTopic)
            try await topics.ensureDeadLetterTopic(topic)
            try await bus.send(try letters.map { OutgoingMessage(topic: topic, key: $0.originalKey, value: try $0.encoded()) })
            Self.undeliverable.increment(by: letters.count)
        }
    }

    static func unique(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }
}
