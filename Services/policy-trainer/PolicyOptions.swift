import ArgumentParser
import Foundation
import PolicyTraining

/// The policy-training configuration as flags: a JSON file (`--config`, any subset of
/// `PolicyTrainingConfig`'s keys), then the flags given, over the defaults.
struct PolicyOptions: ParsableArguments {
    @Option(help: "JSON file with any subset of the training configuration's keys.") var config: String?
    @Option(help: "Advantage estimator: grpo, cdpa or cdpa-step.") var estimator: String?
    @Option(help: "λ of cdpa-step.") var lambda: Double?
    @Option(help: "Loss aggregation: sequence-mean, token-mean or constant.") var aggregation: String?
    @Option(help: "Reward: fine (the critic's final score) or coarse (rounded to bands).") var reward: String?
    @Option(help: "Seed of the prompt order and sampling.") var seed: UInt64?
    @Option(help: "RL steps.") var steps: Int?
    @Option(help: "Prompts per step.") var promptsPerStep: Int?
    @Option(help: "Responses per prompt (G).") var groupSize: Int?
    @Option(help: "RL learning rate.") var learningRate: Float?
    @Option(help: "KL weight β.") var beta: Double?
    @Option(help: "Optimizer steps per batch.") var innerEpochs: Int?
    @Option(help: "Longest response in tokens.") var maxNewTokens: Int?
    @Option(help: "Steps between checkpoints.") var checkpointEvery: Int?
    @Option(help: "Steps between evaluations (0: never).") var evalEvery: Int?
    @Option(help: "Evaluation prompts (validation split).") var evalPrompts: Int?
    @Option(help: "SFT epochs of the warm start.") var sftEpochs: Int?
    @Option(help: "Model width of the warm start.") var channels: Int?
    @Option(help: "Layers of the warm start.") var layers: Int?
    @Option(help: "Share of each batch the oracle also scores.") var oracleShare: Double?
    @Option(help: "PRM–oracle gap that counts as gamed.") var gapThreshold: Double?
    @Option(help: "Gamed steps in a row before a PRM refresh (K).") var patience: Int?
    @Option(help: "Refreshes before the run stops (R).") var maxRefreshes: Int?
    @Option(help: "Feedback revisions for groups whose best final score is below this (default: off).")
    var revisionThreshold: Double?

    func resolved() throws -> PolicyTrainingConfig {
        var c = PolicyTrainingConfig()
        if let path = config {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --config \(path)") }
            do { c = try JSONDecoder().decode(PolicyTrainingConfig.self, from: data) } catch {
                throw ValidationError("--config \(path) is not a policy training configuration: \(error)")
            }
        }
        if let v = estimator { c.estimator = v }
        if let v = lambda { c.lambda = v }
        if let v = aggregation { c.aggregation = v }
        if let v = reward {
            guard let r = RewardSetting(rawValue: v) else { throw ValidationError("--reward must be fine or coarse") }
            c.reward = r
        }
        if let v = seed { c.seed = v }
        if let v = steps { c.steps = v }
        if let v = promptsPerStep { c.promptsPerStep = v }
        if let v = groupSize { c.groupSize = v }
        if let v = learningRate { c.learningRate = v }
        if let v = beta { c.beta = v }
        if let v = innerEpochs { c.innerEpochs = v }
        if let v = maxNewTokens { c.maxNewTokens = v }
        if let v = checkpointEvery { c.checkpointEvery = v }
        if let v = evalEvery { c.evalEvery = v }
        if let v = evalPrompts { c.evalPrompts = v }
        if let v = sftEpochs { c.sftEpochs = v }
        if let v = channels { c.model.channelCount = v }
        if let v = layers { c.model.layerCount = v }
        if let v = oracleShare { c.hackingGuard.oracleShare = v }
        if let v = gapThreshold { c.hackingGuard.gapThreshold = v }
        if let v = patience { c.hackingGuard.patience = v }
        if let v = maxRefreshes { c.hackingGuard.maxRefreshes = v }
        if let v = revisionThreshold { c.revisionThreshold = v }
        guard c.problems.isEmpty else { throw ValidationError(c.problems.joined(separator: "; ")) }
        return c
    }
}
