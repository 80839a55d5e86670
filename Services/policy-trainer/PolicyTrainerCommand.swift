import ArgumentParser

@main
struct PolicyTrainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy-trainer",
        abstract: "The CDRA policy trainer: SFT warm start, online GRPO/CDPA with critiques over Kafka, benchmarks and the study.",
        subcommands: [TrainCommand.self, SFTCommand.self, BenchCommand.self, ExperimentCommand.self])
}
