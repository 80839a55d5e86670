import ArgumentParser
import Bus
import Events
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Resilience
import ServiceRuntime
import Store

/// One run of `critic bench`: start `replicas` child processes of `critic serve` in one consumer
/// group on fresh topics, warm up until every replica has answered, then keep `inFlight` requests
/// outstanding until `requests` are answered, and measure.
struct CriticBenchPhase {
    var replicas: Int
    var requests: Int
    var inFlight: Int
    var partitions: Int
    /// Makes this run's topics, group and request ids unique.
    var suffix: String
    var executable: URL
    var arguments: [String]
    var environment: [String: String]
    var bus: KafkaBus
    var database: Database
    /// Requests to cycle through (each sent with its own request id); synthetic ones when empty.
    var templates: [CritiqueRequested] = []

    struct Result {
        var replicas: Int
        var critiquesPerSecond: Double
        var p50Milliseconds: Double
        var p99Milliseconds: Double
        /// Mean requests per micro-batch, from the replicas' `/metrics`.
        var meanBatch: Double
        var statuses: [String: Int]
    }

    /// What the reply reader has seen.
    struct Replies {
        var received: [String: ContinuousClock.Instant] = [:]
        /// Statuses of the measured requests' replies.
        var statuses: [String: Int] = [:]
        var producers: Set<String> = []
        /// Measured requests answered (warm-up ones are not counted).
        var measured = 0
    }

    func run() async throws -> Result {
        let requestsTopic = "bench.critic.requests.\(suffix)"
        let repliesTopic = "bench.critic.replies.\(suffix)"
        let group = "bench-critic-\(suffix)"
        try await bus.createTopic(requestsTopic, partitions: partitions)
        try await bus.createTopic(repliesTopic, partitions: partitions)

        let children = try (0..<replicas).map { index in
            try BenchReplica.start(executable: executable, arguments: arguments + [
                "--group", group, "--replica-id", "bench-\(suffix)-\(index)", "--requests-topic", requestsTopic,
                "--critiques-topic", repliesTopic, "--http-port", "0"], environment: environment,
                logName: "critic-\(suffix)-\(index)")
        }
        defer { for child in children { child.terminate() } }

        let replies = Locked(Replies())
        let consumer = try bus.makeConsumer(topics: [repliesTopic], group: "bench-critic-reader-\(suffix)")
        let reader = Task {
            let codec = EventCodec()
            while !Task.isCancelled {
                guard let batch = try? await consumer.poll(maxMessages: 1_000, timeout: .milliseconds(100)) else { break }
                let now = ContinuousClock.now
                for message in batch {
                    guard let envelope = try? codec.decode(message.value, as: CritiqueProduced.self) else { continue }
                    replies.withLock { seen in
                        if seen.received[envelope.payload.requestID] == nil {
                            seen.received[envelope.payload.requestID] = now
                            if envelope.payload.requestID.hasPrefix("bench-") {
                                seen.measured += 1
                                seen.statuses[envelope.payload.status.rawValue, default: 0] += 1
                            }
                        }
                        seen.producers.insert(envelope.producer)
                    }
                }
            }
        }
        defer { reader.cancel() }

        try await warmUp(requestsTopic: requestsTopic, repliesTopic: repliesTopic, replies: replies, children: children)
        let before = try await BenchReplica.batchTotals(children)

        // The measured run: a closed loop with `inFlight` requests outstanding.
        let ids = (0..<requests).map { "bench-\(suffix)-\($0)" }
        var sentAt: [String: ContinuousClock.Instant] = [:]
        sentAt.reserveCapacity(requests)
        let codec = EventCodec()
        let started = ContinuousClock.now
        var next = 0
        while next < ids.count {
            let room = inFlight - (next - replies.current.measured)
            if room <= 0 {
                try await Task.sleep(for: .milliseconds(1))
                try Self.checkAlive(children)
                continue
            }
            let chunk = ids[next..<min(ids.count, next + room)]
            let messages = try chunk.map { id -> OutgoingMessage in
                let request = request(id: id, ordinal: sentAt.count, replyTopic: repliesTopic)
                return OutgoingMessage(topic: requestsTopic, key: Array(id.utf8),
                                       value: try codec.encode(EventEnvelope(payload: request, producer: "critic-bench")))
            }
            let now = ContinuousClock.now
            for id in chunk { sentAt[id] = now }
            try await bus.send(messages)
            next += chunk.count
        }
        let deadline = ContinuousClock.now + .seconds(600)
        while replies.current.measured < requests {
            guard ContinuousClock.now < deadline else {
                throw BenchFailure("timed out: \(replies.current.received.count) replies; logs in \(BenchReplica.logDirectory.path)")
            }
            try Self.checkAlive(children)
            try await Task.sleep(for: .milliseconds(5))
        }
        let seen = replies.current
        let finished = ids.compactMap { seen.received[$0] }.max() ?? ContinuousClock.now
        let after = try await BenchReplica.batchTotals(children)

        // Every request answered exactly once in the database.
        let rows = try await database.withConnection { connection in
            try connection.execute("SELECT count(*) FROM critiques WHERE request_id = ANY($1::text[])", [.textArray(ids)])[0].int(0) ?? 0
        }
        guard rows == requests else { throw BenchFailure("\(rows) critiques stored for \(requests) requests") }

        let latencies = ids.map { id in Self.milliseconds(seen.received[id]! - sentAt[id]!) }.sorted()
        let batches = after.batches - before.batches
        return Result(replicas: replicas, critiquesPerSecond: Double(requests) / Self.seconds(finished - started),
                      p50Milliseconds: Self.percentile(latencies, 0.50), p99Milliseconds: Self.percentile(latencies, 0.99),
                      meanBatch: batches > 0 ? (after.requests - before.requests) / batches : 0,
                      statuses: seen.statuses)
    }

    /// Sends rounds of requests until every replica has answered one, so the group has settled
    /// before the clock starts.
    private func warmUp(requestsTopic: String, repliesTopic: String, replies: Locked<Replies>,
                        children: [BenchReplica]) async throws {
        let codec = EventCodec()
        let deadline = ContinuousClock.now + .seconds(120)
        var round = 0
        while replies.current.producers.count < replicas {
            guard ContinuousClock.now < deadline else {
                throw BenchFailure("the replicas did not all answer within 120 s; logs in \(BenchReplica.logDirectory.path)")
            }
            try Self.checkAlive(children)
            let ids = (0..<(4 * partitions)).map { "warm-\(suffix)-\(round)-\($0)" }
            try await bus.send(try ids.enumerated().map { index, id in
                OutgoingMessage(topic: requestsTopic, key: Array(id.utf8), value: try codec.encode(EventEnvelope(
                    payload: request(id: id, ordinal: index, replyTopic: repliesTopic), producer: "critic-bench")))
            })
            let roundDeadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < roundDeadline, !replies.withLock({ seen in ids.allSatisfy { seen.received[$0] != nil } }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            round += 1
        }
    }

    /// The `ordinal`-th request: the next template with this id and reply topic, or a synthetic one.
    func request(id: String, ordinal: Int, replyTopic: String) -> CritiqueRequested {
        guard !templates.isEmpty else { return Self.request(id: id, ordinal: ordinal, replyTopic: replyTopic) }
        var r = templates[ordinal % templates.count]
        r.requestID = id
        r.replyTopic = replyTopic
        r.responseID = "bench-r-\(id)"
        return r
    }

    /// A synthetic request: one to four steps, a short answer.
    static func request(id: String, ordinal: Int, replyTopic: String) -> CritiqueRequested {
        CritiqueRequested(
            requestID: id, replyTopic: replyTopic, queryID: "bench-q-\(ordinal % 100)",
            profile: UserProfile(profileID: "bench-p-\(ordinal % 50)", statedPreference: "I prefer plans that keep my independence."),
            question: "How can I keep my family informed about my trips without constant check-ins?",
            responseID: "bench-r-\(id)",
            steps: (0..<(1 + ordinal % 4)).map { "Consider part \($0 + 1) of the plan: who needs to know what, and when." },
            answer: "Share your itinerary once and send a short message when you arrive.")
    }

    static func checkAlive(_ children: [BenchReplica]) throws {
        if let dead = children.first(where: { !$0.process.isRunning }) {
            throw BenchFailure("a replica exited with status \(dead.process.terminationStatus); log: \(dead.logURL.path)\n\(dead.log.suffix(2_000))")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func milliseconds(_ duration: Duration) -> Double { seconds(duration) * 1000 }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}

/// A `critic serve` child process of the benchmark, logging to `bench-results/logs/`.
final class BenchReplica: @unchecked Sendable {
    let process: Process
    let logURL: URL

    static var logDirectory: URL { URL(fileURLWithPath: "bench-results/logs", isDirectory: true) }

    static func start(executable: URL, arguments: [String], environment: [String: String], logName: String) throws -> BenchReplica {
        let logURL = logDirectory.appendingPathComponent("\(logName).log")
        return BenchReplica(process: try LoggedProcess.start(executable: executable, arguments: arguments,
                                                             environment: environment, logURL: logURL), logURL: logURL)
    }

    private init(process: Process, logURL: URL) {
        self.process = process
        self.logURL = logURL
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait for the graceful shutdown; SIGKILL after 30 s.
    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The port of its `/metrics`, from its "operations endpoint" log line.
    var metricsPort: Int? {
        guard let range = log.range(of: #"operations endpoint port=(\d+)"#, options: .regularExpression) else { return nil }
        return Int(log[range].split(separator: "=").last ?? "")
    }

    /// Micro-batches and the requests in them, summed over the replicas' `cdra_critic_batch_size`.
    static func batchTotals(_ replicas: [BenchReplica]) async throws -> (batches: Double, requests: Double) {
        var total = (batches: 0.0, requests: 0.0)
        for replica in replicas {
            guard let port = replica.metricsPort, let url = URL(string: "http://127.0.0.1:\(port)/metrics") else { continue }
            let (data, _) = try await URLSession.shared.data(from: url)
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                if parts[0] == "cdra_critic_batch_size_count" { total.batches += value }
                if parts[0] == "cdra_critic_batch_size_sum" { total.requests += value }
            }
        }
        return total
    }

    deinit { terminate() }
}
