import ArgumentParser

@main
struct EvaluatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluator",
        abstract: "The CDRA evaluator: evaluates every announced policy checkpoint on the test and perturbed test splits.",
        subcommands: [ServeCommand.self], defaultSubcommand: ServeCommand.self)
}
