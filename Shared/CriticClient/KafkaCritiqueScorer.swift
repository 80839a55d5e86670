import Bus
import Events
import Foundation
import Logging
import PolicyTraining
import Resilience

/// Critique round trips over Kafka: requests go to the critic replicas' topic, replies come back
/// on a reply topic of this run, matched by request id. A request not answered in time is sent
/// again under the same id (a critic that already answered it sends its stored reply again, so a
/// re-send is never scored twice); after the last re-send the step fails with a message saying
/// what is missing. Replies for ids this run is not waiting for, and second replies, are ignored
/// and counted.
public final class KafkaCritiqueScorer: CritiqueScorer, @unchecked Sendable {
    public let bus: KafkaBus
    public let requestsTopic: String
    public let replyTopic: String
    public let timeout: Duration
    public let resends: Int
    /// The `producer` of the request envelopes.
    public let producer: String
    private let consumer: any MessageConsumer
    private let codec = EventCodec()
    private var reader: Task<Void, Never>?

    private struct Pending {
        var waiting: [String: (sentAt: ContinuousClock.Instant, steps: Int)] = [:]
        var answered: [String: SampleScore] = [:]
        var critiques: [String: String] = [:]
        var latencies: [Double] = []
        /// Ids answered in this or the previous batch: a second reply for one is a duplicate.
        var recent: Set<String> = []
        var previous: Set<String> = []
        var unknown = 0
        var duplicates = 0
        var undecodable = 0
    }
    private let pending = Locked(Pending())

    public init(bus: KafkaBus, requestsTopic: String, replyTopic: String, group: String, partitions: Int,
                timeout: Duration, resends: Int, producer: String = "policy-trainer") async throws {
        self.producer = producer
        self.bus = bus
        self.requestsTopic = requestsTopic
        self.replyTopic = replyTopic
        self.timeout = timeout
        self.resends = resends
        try await bus.createTopic(requestsTopic, partitions: partitions)
        try await bus.createTopic(replyTopic, partitions: partitions)
        consumer = try bus.makeConsumer(topics: [replyTopic], group: group)
        let consumer = self.consumer, codec = self.codec, pending = self.pending
        reader = Task {
            while !Task.isCancelled {
                guard let batch = try? await consumer.poll(maxMessages: 1_000, timeout: .milliseconds(50)) else {
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                let now = ContinuousClock.now
                for message in batch {
                    guard let reply = try? codec.decode(message.value, as: CritiqueProduced.self).payload else {
                        pending.withLock { $0.undecodable += 1 }
                        continue
                    }
                    pending.withLock { p in
                        let id = reply.requestID
                        if let wait = p.waiting.removeValue(forKey: id) {
                            p.answered[id] = SampleScore(reply, steps: wait.steps)
                            if reply.status == .ok { p.critiques[id] = reply.critiqueText }
                            p.latencies.append(Double((now - wait.sentAt).components.attoseconds) / 1e15
                                               + Double((now - wait.sentAt).components.seconds) * 1000)
                            p.recent.insert(id)
                        } else if p.recent.contains(id) || p.previous.contains(id) {
                            p.duplicates += 1
                        } else {
                            p.unknown += 1
                        }
                    }
                }
            }
        }
    }

    /// Replies seen that were not critique_produced events.
    public var undecodableReplies: Int { pending.current.undecodable }

    public func score(_ requests: [CritiqueRequested]) async throws -> ScoringReport {
        let (startUnknown, startDuplicates) = pending.withLock { p -> (Int, Int) in
            p.previous = p.recent
            p.recent = []
            p.answered = [:]
            p.critiques = [:]
            p.latencies = []
            return (p.unknown, p.duplicates)
        }
        var sendCount = 0, resent = 0
        var outstanding = requests
        let started = ContinuousClock.now
        while true {
            let now = ContinuousClock.now
            pending.withLock { p in
                for r in outstanding { p.waiting[r.requestID] = (now, r.steps.count) }
            }
            let messages = try outstanding.map { r -> OutgoingMessage in
                var r = r
                r.replyTopic = replyTopic
                return OutgoingMessage(topic: requestsTopic, key: Array(r.requestID.utf8),
                                       value: try codec.encode(EventEnvelope(payload: r, producer: producer)))
            }
            try await sendRetrying(messages)
            sendCount += 1
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline, !pending.withLock({ p in outstanding.allSatisfy { p.waiting[$0.requestID] == nil } }) {
                try await Task.sleep(for: .milliseconds(5))
            }
            outstanding = pending.withLock { p in outstanding.filter { p.waiting[$0.requestID] != nil } }
            if outstanding.isEmpty { break }
            guard sendCount <= resends else {
                let seconds = Double((ContinuousClock.now - started).components.seconds)
                pending.withLock { p in for r in outstanding { p.waiting[r.requestID] = nil } }
                throw PolicyTrainingError.critiqueTimeout(
                    "\(outstanding.count) of \(requests.count) critique requests got no reply after \(sendCount) sends over \(Int(seconds)) s "
                    + "(timeout \(timeout) each): is a critic (`critic serve`) consuming '\(requestsTopic)'? First unanswered: \(outstanding[0].requestID)")
            }
            resent += outstanding.count
        }
        return pending.withLock { p in
            var report = ScoringReport(scores: p.answered)
            report.critiques = p.critiques
            report.latenciesMs = p.latencies
            report.resends = resent
            report.unknownReplies = p.unknown - startUnknown
            report.duplicateReplies = p.duplicates - startDuplicates
            return report
        }
    }

    /// Sends, retrying while the broker is away (the librdkafka queue holds what it accepted).
    private func sendRetrying(_ messages: [OutgoingMessage]) async throws {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        var attempt = 0
        while true {
            do {
                try await bus.send(messages)
                return
            } catch let error as any RetriableError where error.isRetriable && attempt < 10 {
                attempt += 1
                try await Task.sleep(for: backoff.delay(attempt: attempt))
            }
        }
    }

    public func close() async {
        reader?.cancel()
        await consumer.close()
    }
}
