import ArgumentParser
import Bus
import Foundation
import Logging
import ServiceRuntime

/// `cdra dlq`: look at and replay dead-letter topics (`<topic>.dlq`, Docs/bus.md).
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "List or replay the records of a dead-letter topic.",
        subcommands: [DLQReplayCommand.self])
}

/// `cdra dlq replay <topic>.dlq`: sends each dead letter's original bytes (and key) back to the
/// topic it came from, for the consumers to handle again once the cause is fixed. Offsets are
/// committed in consumer group `--group` after each record is re-sent, so running it again
/// replays only records that arrived since; `--dry-run` lists them and commits nothing.
struct DLQReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-send a dead-letter topic's original messages to their source topic.",
        discussion: """
            A record whose original value was truncated (above 512 KiB) cannot be replayed: it is \
            listed and skipped. The consumers' idempotency (event ids, request ids, stored \
            evaluation runs) makes a replayed event that was in fact handled write nothing twice.
            """)

    @OptionGroup var options: ServiceOptions
    @Argument(help: "The dead-letter topic, e.g. training.checkpoints.v1.dlq.") var topic: String
    @Option(help: "Consumer group that remembers what was replayed.") var group = "cdra-dlq-replay"
    @Option(help: "Replay only records with this code (handlerFailed, invalidPayload, undeliverable, ...).") var code: String?
    @Option(help: "Send to this topic instead of each record's source topic.") var to: String?
    @Option(help: "Stop after this many records.") var max: Int?
    @Option(help: "Stop when no record arrives for this many seconds.") var idleSeconds = 5.0
    @Flag(help: "List the records; send and commit nothing.") var dryRun = false

    func validate() throws {
        guard topic.hasSuffix(".dlq") else { throw ValidationError("'\(topic)' is not a dead-letter topic (<topic>.dlq)") }
        if let max, max <= 0 { throw ValidationError("--max must be positive") }
        guard idleSeconds > 0 else { throw ValidationError("--idle-seconds must be positive") }
    }

    func run() async throws {
        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: "cdra-dlq"))
        guard try await bus.partitionCount(of: topic) != nil else {
            throw ValidationError("topic '\(topic)' does not exist: nothing was dead-lettered there")
        }
        // A dry run reads in a throw-away group, so it neither sees less next time nor hides records from a replay.
        let consumer = try bus.makeConsumer(topics: [topic], group: dryRun ? "\(group)-dry-\(UUID().uuidString.prefix(8))" : group)
        var seen = 0, replayed = 0, skipped = 0, later = 0
        // Letters written after this replay began (among them the ones its own re-sent records
        // cause, when the cause is not fixed yet) are left for the next replay: reading on would
        // send them round in a loop. A partition stops at its first such letter, uncommitted.
        let started = Date()
        var stopped = Set<Int32>()
        var lastArrival = ContinuousClock.now
        let idle = Duration.milliseconds(Int64(idleSeconds * 1000))
        reading: while ContinuousClock.now - lastArrival < idle {
            let messages = try await consumer.poll(maxMessages: 100, timeout: .milliseconds(500))
            if !messages.isEmpty { lastArrival = ContinuousClock.now }
            for message in messages {
                if let max, seen >= max { break reading }
                if stopped.contains(message.partition) { continue }
                let letter: DeadLetter
                do { letter = try DeadLetter.decode(message.value) } catch {
                    print("offset \(message.partition)/\(message.offset): not a dead-letter record (\(error)); skipped")
                    skipped += 1
                    seen += 1
                    if !dryRun { try await consumer.commit([message]) }
                    continue
                }
                if letter.failedAt >= started {
                    stopped.insert(message.partition)
                    later += 1
                    continue
                }
                seen += 1
                let target = to ?? letter.sourceTopic
                let line = "\(letter.sourceTopic) \(letter.partition)/\(letter.offset) [\(letter.code)] \(letter.reason)"
                if let code, letter.code != code {
                    print("skip (code): \(line)")
                    skipped += 1
                } else if letter.valueTruncated {
                    print("skip (value truncated at \(letter.originalSize) bytes, cannot be replayed): \(line)")
                    skipped += 1
                } else if dryRun {
                    print("would replay to \(target): \(line)")
                } else {
                    try await bus.send([OutgoingMessage(topic: target, key: letter.originalKey, value: letter.originalValue)])
                    print("replayed to \(target): \(line)")
                    replayed += 1
                }
                if !dryRun { try await consumer.commit([message]) }
            }
        }
        await consumer.close()
        print("\(topic): \(seen) records read, \(dryRun ? "0 (dry run)" : "\(replayed)") replayed, \(skipped) skipped"
              + (later > 0 ? "; letters written since the replay began are left for the next one" : ""))
    }
}
