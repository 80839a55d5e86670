import ArgumentParser

/// The CDRA command-line tool.
@main
struct CDRA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdra",
        abstract: "Critique-Driven Reasoning Alignment: submit queries, build DeepPref, annotate, inspect results.",
        subcommands: [
            StatusCommand.self, SQLCommand.self, MigrateCommand.self, BenchCommand.self,
        ])
}
