import ArgumentParser

/// The critic (Pers-GenPRM, DESIGN §6): `critic serve` answers critique requests from Kafka; the
/// other subcommands work with the same backends. `serve` runs when no subcommand is named.
@main
struct Critic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "critic",
        abstract: "The Pers-GenPRM critic: critiques responses step by step, then scores them.",
        subcommands: [
            ServeCommand.self,
            BenchCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}
