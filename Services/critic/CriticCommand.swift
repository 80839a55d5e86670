import ArgumentParser

/// The critic (Pers-GenPRM, DESIGN §6): `critic serve` answers critique requests from Kafka; the
/// other subcommands train, evaluate and refresh the reward model, build its corpus and benchmark
/// the service. `serve` runs when no subcommand is named.
@main
struct Critic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "critic",
        abstract: "The Pers-GenPRM critic: critiques responses step by step, then scores them.",
        subcommands: [
            ServeCommand.self,
            TrainCommand.self,
            EvaluateCommand.self,
            RefreshCommand.self,
            DataCommand.self,
            BenchCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}
