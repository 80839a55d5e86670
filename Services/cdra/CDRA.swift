import ArgumentParser

/// The `cdra` command-line tool.
@main
struct CDRA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdra",
        abstract: "CDRA tools: DeepPref council annotation and more.",
        subcommands: [CouncilCommand.self])
}
