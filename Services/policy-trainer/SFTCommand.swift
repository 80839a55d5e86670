import ArgumentParser
import Foundation
import PolicyTraining
import ServiceRuntime
import Store
import Tensor

/// `policy-trainer sft`: the warm start of a configuration, trained once and stored; the id is
/// printed (an existing one is reused).
struct SFTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft", abstract: "Train (or find) the SFT warm start of a configuration.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var policy: PolicyOptions
    @Option(help: "BLAS threads.") var threads = 2
    @Flag(help: "Do not announce the checkpoint on Kafka.") var noAnnounce = false

    func run() async throws {
        let setup = try await CommandSetup(service: "policy-trainer", options: options, policy: policy, threads: threads)
        let config = setup.config, database = setup.database
        defer { database.shutdown() }
        let train = try await PolicyData.items(database, split: "train")
        let validation = try await PolicyData.items(database, split: "validation")
        guard !train.isEmpty else { throw PolicyTrainingError.noData("no annotated train-split queries in PostgreSQL") }
        let warm = try await PolicyData.warmStart(config, train: train, validation: Array(validation.prefix(100)), database: database,
                                                  options: options, announce: !noAnnounce, log: PolicyRun.log)
        let format = try PolicyFormat(tokenizer: warm.checkpoint.tokenizer!)
        let eval = try PolicyRLTrainer.evaluate(policy: warm.checkpoint.model, format: format,
                                                items: Array(validation.prefix(config.evalPrompts)), config: config,
                                                pack: try .builtin())
        PolicyRun.log(String(format: "warm start %@ (%@): eval oracle score %.3f, acc_pf %.3f, m_dm %.3f, hidden recall %.3f, format %.3f",
                             warm.id, warm.trained ? "trained" : "reused", eval["eval_oracle_score"] ?? .nan,
                             eval["eval_acc_pf"] ?? .nan, eval["eval_m_dm"] ?? .nan, eval["eval_hidden_recall"] ?? .nan,
                             eval["eval_format_valid"] ?? .nan))
        print(warm.id)
    }
}
