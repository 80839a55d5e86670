import ArgumentParser

/// `lm`: train, sample and benchmark the CDRA transformer language model.
struct LM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Train, sample and benchmark the transformer language model on the CPU.",
        subcommands: [TrainCommand.self, SampleCommand.self, BenchCommand.self])
}

LM.main()
