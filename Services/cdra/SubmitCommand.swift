import ArgumentParser
import Bus
import Council
import DeepPrefFormats
import Events
import Foundation
import Logging
import ServiceRuntime
import Store

/// Streams profile + query records from a JSONL file into `deeppref.queries.v1`.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Publish queries (JSONL, one profile + query per line) for annotation.",
        discussion: """
            Each line is a JSON object with at least `question`; `id`, `preference`, `topic`, \
            `hidden_preferences`, `split`, `profile_id` and `risk_tolerance` are read when present \
            (the output of `cdra deeppref build` and `cdra deeppref import-prefeval` is accepted as it is). \
            Bad lines are reported with their line number and skipped; the others are sent, and the \
            command then exits with status 1.
            """)

    @OptionGroup var options: ServiceOptions

    @Argument(help: "JSONL file of queries.")
    var file: String

    @Option(help: "Topic to publish on.")
    var topic = QuerySubmitted.defaultTopic

    @Option(help: "Partitions, if the topic has to be created.")
    var partitions = 4

    @Option(help: "Correlation id stamped on every event (default: a new UUID).")
    var correlationID: String?

    @Option(help: "After sending, wait until this consumer has processed every submitted event.")
    var waitFor: String?

    @Option(help: "Seconds to wait with --wait-for.")
    var timeout = 900.0

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra", level: .warning, format: options.logFormat)
        let read = Self.readQueries(file)
        for problem in read.problems { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
        guard !read.queries.isEmpty else {
            throw ValidationError("\(file): no valid query lines (\(read.problems.count) bad)")
        }
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: "cdra-submit"))
        try await bus.createTopic(topic, partitions: partitions)
        let codec = EventCodec(maxEventBytes: options.maxEventBytes)
        let correlation = correlationID ?? UUID().uuidString
        let progress = ProgressLine(label: "submitted", total: read.queries.count)
        var eventIDs: [UUID] = []
        eventIDs.reserveCapacity(read.queries.count)
        for chunk in read.queries.chunked(into: 1_000) {
            var messages: [OutgoingMessage] = []
            for query in chunk {
                let envelope = EventEnvelope(payload: query, producer: "cdra-submit", correlationID: correlation)
                eventIDs.append(envelope.eventID)
                messages.append(OutgoingMessage(topic: topic, key: Array(query.queryID.utf8), value: try codec.encode(envelope)))
            }
            try await bus.send(messages)
            progress.advance(by: chunk.count)
        }
        progress.finish()
        print("submitted \(eventIDs.count) queries to \(topic) (correlation id \(correlation))")

        if let consumer = waitFor {
            try await waitUntilProcessed(eventIDs, consumer: consumer)
        }
        if !read.problems.isEmpty {
            throw ValidationError("\(read.problems.count) bad line(s) in \(file) were skipped (listed above)")
        }
    }

    /// Every query line of the file, and a problem for each line that is not one.
    static func readQueries(_ path: String) -> (queries: [QuerySubmitted], problems: [RecordProblem]) {
        let url = URL(fileURLWithPath: path)
        let raw = JSONRecordReader.read(url, file: path)
        var queries: [QuerySubmitted] = []
        var problems = raw.problems
        let stem = url.deletingPathExtension().lastPathComponent
        for record in raw.records {
            do {
                queries.append(try CouncilBatchInput.query(from: record, fileStem: stem))
            } catch {
                problems.append(RecordProblem(file: path, line: record.line, reason: "\(error)"))
            }
        }
        return (queries, problems.sorted { $0.line < $1.line })
    }

    /// Polls `processed_events` until the consumer has applied every event.
    private func waitUntilProcessed(_ ids: [UUID], consumer: String) async throws {
        let database = Database(configuration: options.databaseConfiguration(applicationName: "cdra-submit"))
        defer { database.shutdown() }
        let progress = ProgressLine(label: "processed by \(consumer)", total: ids.count)
        let start = Date()
        while true {
            let done: Int
            do {
                done = try await database.withConnection { connection in
                    try connection.execute(
                        "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
                        [.text(consumer), .uuidArray(ids)])[0].int(0) ?? 0
                }
            } catch let error as StoreError where error.isRetriable && Date().timeIntervalSince(start) < timeout {
                // The database is restarting or briefly unreachable: keep waiting.
                try await Task.sleep(for: .seconds(1))
                continue
            }
            progress.update(to: done)
            if done >= ids.count { break }
            if Date().timeIntervalSince(start) > timeout {
                progress.finish()
                throw ValidationError("timed out after \(Int(timeout)) s: \(consumer) processed \(done) of \(ids.count)")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "%@ processed %d events in %.1f s (%.0f queries/s)", consumer, ids.count, seconds,
                     Double(ids.count) / max(seconds, 0.001)))
    }
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
