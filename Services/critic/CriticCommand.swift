import ArgumentParser

/// `critic`: the Pers-GenPRM critic: its training, evaluation and (by default) the service.
@main
struct Critic: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "critic",
        abstract: "The Pers-GenPRM critic: train and evaluate the reward model.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, RefreshCommand.self, DataCommand.self])
}
