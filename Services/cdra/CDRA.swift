import ArgumentParser

/// The `cdra` command-line tool.
@main
struct CDRA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdra",
        abstract: "CDRA platform tools.",
        subcommands: [DeepPrefCommand.self])
}
