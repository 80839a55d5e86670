import ArgumentParser
import Bus
import Events
import Foundation
import Logging
import ServiceRuntime
import Store

/// Row counts per table and consumer lag per group, topic and partition.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show row counts per table and consumer lag.")

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("group"), help: "Consumer group to report lag for (repeatable).")
    var groups: [String] = ["council-generator"]

    @Option(name: .customLong("topic"), help: "Topic to report lag on (repeatable).")
    var topics: [String] = [QuerySubmitted.defaultTopic]

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra", level: .warning, format: options.logFormat)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "cdra-status"))
        defer { database.shutdown() }
        let counts = try await database.withConnection { connection -> [[String]] in
            let result = try connection.execute("SELECT table_name, row_count FROM v_table_counts")
            return try [["table", "rows"]] + result.map { [try $0.string(0) ?? "", String(try $0.int(1) ?? 0)] }
        }
        print(TextTable.render(counts))
        print()

        let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: "cdra-status"))
        var lagRows: [[String]] = [["group", "topic", "partition", "committed", "end", "lag"]]
        var total: Int64 = 0
        for group in groups {
            for topic in topics {
                for entry in try await bus.consumerLag(group: group, topic: topic) {
                    // Never negative: a broker that reports its high watermark late (Tansu 0.6)
                    // can show a committed offset past it.
                    let lag = max(0, entry.lag)
                    total += lag
                    lagRows.append([group, entry.topicPartition.topic, String(entry.topicPartition.partition),
                                    entry.committed.map(String.init) ?? "none", String(entry.endOffset), String(lag)])
                }
            }
        }
        print(TextTable.render(lagRows))
        print("total lag: \(total)")
    }
}
