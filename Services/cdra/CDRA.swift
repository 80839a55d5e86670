import ArgumentParser

/// The CDRA command-line tool.
@main
struct CDRA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdra",
        abstract: "Critique-Driven Reasoning Alignment: submit queries, build DeepPref, annotate, inspect results.",
        subcommands: [
            SubmitCommand.self, StatusCommand.self, SQLCommand.self, MigrateCommand.self,
            DeepPrefCommand.self, CouncilCommand.self, BenchCommand.self, ExperimentCommand.self, ReportCommand.self, DLQCommand.self,
        ])
}
