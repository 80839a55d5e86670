import ArgumentParser
import ServiceRuntime
import Store

/// The documented views, one SELECT away (Docs/database.md describes each).
struct SQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Print one of the documented views.",
        discussion: "Views: \(SQLView.allCases.map(\.rawValue).joined(separator: ", ")). "
            + "Connect with psql \"$CDRA_DATABASE_URL\" for anything else.")

    enum SQLView: String, CaseIterable, ExpressibleByArgument {
        case tableCounts = "table-counts"
        case consumerProgress = "consumer-progress"
        case queryTopics = "query-topics"
        case annotationOverview = "annotation-overview"
        case personaSummary = "persona-summary"
        case councilRecall = "council-recall"
        case latestEvaluations = "latest-evaluations"

        var relation: String { "v_" + rawValue.replacingOccurrences(of: "-", with: "_") }
    }

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The view to print.")
    var view: SQLView

    @Option(help: "Most rows to print.")
    var limit = 20

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra", level: .warning, format: options.logFormat)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "cdra-sql"))
        defer { database.shutdown() }
        // The relation name comes from the fixed list above, never from free text.
        let sql = "SELECT * FROM \(view.relation) ORDER BY 1 LIMIT $1"
        let limit = self.limit
        let table = try await database.withConnection { connection -> [[String]] in
            let result = try connection.execute(sql, [.int(limit)])
            var rows = [result.columnNames]
            for row in result {
                rows.append(try (0..<result.columnNames.count).map { try row.string(.index($0)) ?? "∅" })
            }
            return rows
        }
        print(TextTable.render(table))
    }
}
