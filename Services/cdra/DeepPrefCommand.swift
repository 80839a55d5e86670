import ArgumentParser

/// `cdra deeppref ...`: build the benchmark and import PrefEval data.
struct DeepPrefCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deeppref",
        abstract: "Build the DeepPref benchmark and import PrefEval pairs.",
        subcommands: [DeepPrefBuildCommand.self, DeepPrefImportPrefEvalCommand.self, DeepPrefExportCommand.self, DeepPrefImportCommand.self])
}
