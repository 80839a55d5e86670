import Foundation
import LanguageModel
import PolicyOptimization

/// Everything that decides a policy run (SFT warm start and online RL). Stored with every
/// checkpoint, so a resumed run continues with exactly the configuration it started with.
/// Defaults follow the sizes the small-scale study found to work (issue "CDPA policy trainer").
public struct PolicyTrainingConfig: Codable, Sendable, Equatable {
    // MARK: Model and warm start

    /// The policy transformer, trained from scratch. Default: vocabulary 2048, context 512,
    /// 3 layers, 4 heads, width 128
    public var model = TransformerConfig(vocabularySize: 2048, contextLength: 512, layerCount: 3, headCount: 4,
                                         channelCount: 128)
    /// Train-split items whose prompts and references the tokenizer is trained on. Default: 600
    public var tokenizerItems = 600
    /// SFT epochs over the train split's reference chains. Default: 4
    public var sftEpochs = 4
    /// SFT sequences per optimizer step. Default: 16
    public var sftBatchSize = 16
    /// SFT peak learning rate (cosine decay to a tenth after 20 warm-up steps). Default: 1e-3
    public var sftLearningRate: Float = 1e-3
    /// Seed of the model's initialisation and the SFT data order. Default: 1
    public var sftSeed: UInt64 = 1

    // MARK: Online RL

    /// `grpo`, `cdpa` or `cdpa-step`. Default: cdpa-step
    public var estimator = "cdpa-step"
    /// λ of `cdpa-step`. Default: 0.5
    public var lambda = 0.5
    /// `sequence-mean`, `token-mean` or `constant`. Default: constant
    public var aggregation = "constant"
    /// The normalizer of the `constant` aggregation, in tokens. Default: 256
    public var aggregationConstant = 256.0
    /// Fine or coarse (banded) final scores as the reward. Default: fine
    public var reward: RewardSetting = .fine
    /// Responses sampled per prompt (G). Default: 4
    public var groupSize = 4
    /// Prompts per RL step. Default: 8
    public var promptsPerStep = 8
    /// RL steps. Default: 160
    public var steps = 160
    /// Learning rate of the RL updates (constant). Default: 1e-4
    public var learningRate: Float = 1e-4
    /// Gradient-norm clip. Default: 1
    public var maxGradientNorm: Float = 1
    /// Lower clip range ε_low. Default: 0.2
    public var clipLow = 0.2
    /// Upper clip range ε_high. Default: 0.28
    public var clipHigh = 0.28
    /// KL weight β. Default: 0.04
    public var beta = 0.04
    /// Optimizer steps per batch of samples. Default: 1
    public var innerEpochs = 1
    /// Sequences per forward/backward pass of the update (gradients accumulate). Default: 8
    public var microBatch = 8
    /// Sampling temperature (1 samples from the policy itself, as PPO assumes). Default: 1
    public var temperature: Float = 1
    /// Longest response in tokens. Default: 400
    public var maxNewTokens = 400
    /// Seed of the prompt order and of sampling. Default: 1
    public var seed: UInt64 = 1
    /// Steps between checkpoints (and at the end). Default: 20
    public var checkpointEvery = 20
    /// Steps between evaluations on the fixed evaluation prompts (0: never). Default: 20
    public var evalEvery = 20
    /// Validation-split prompts of the evaluation curve. Default: 32
    public var evalPrompts = 32
    /// The reward-hacking guard.
    public var hackingGuard = HackingGuard.Configuration()
    /// Feedback revisions: a group whose best final score is below this gets one more sample, its
    /// best sample revised by the policy conditioned on its critique (Docs/algorithms.md); nil: off.
    /// Default: off
    public var revisionThreshold: Double?
    /// The critique text a revision's prompt holds, at most, in tokens. Default: 64
    public var revisionFeedbackTokens = 64

    public init() {}

    /// The advantage estimator this config names.
    public var advantageEstimator: AdvantageEstimator? { AdvantageEstimator(name: estimator, lambda: lambda) }

    public var lossAggregation: LossAggregation? {
        switch aggregation {
        case "sequence-mean": return .sequenceMean
        case "token-mean": return .tokenMean
        case "constant": return aggregationConstant > 0 ? .constant(aggregationConstant) : nil
        default: return nil
        }
    }

    public var objective: ClippedObjective { ClippedObjective(epsilonLow: clipLow, epsilonHigh: clipHigh, beta: beta) }

    /// The part of the configuration the SFT warm start depends on; runs with the same one share it.
    public struct WarmStart: Codable, Sendable, Equatable {
        public var model: TransformerConfig
        public var tokenizerItems: Int
        public var sftEpochs: Int
        public var sftBatchSize: Int
        public var sftLearningRate: Float
        public var sftSeed: UInt64
    }

    public var warmStart: WarmStart {
        WarmStart(model: model, tokenizerItems: tokenizerItems, sftEpochs: sftEpochs, sftBatchSize: sftBatchSize,
                  sftLearningRate: sftLearningRate, sftSeed: sftSeed)
    }

    /// Every problem, one sentence each; empty when the configuration can run.
    public var problems: [String] {
        var p: [String] = []
        if advantageEstimator == nil { p.append("unknown estimator '\(estimator)' (grpo, cdpa or cdpa-step)") }
        if lossAggregation == nil { p.append("unknown loss aggregation '\(aggregation)' (sequence-mean, token-mean or constant with a positive constant)") }
        if groupSize < 2 { p.append("the group size \(groupSize) must be at least 2 (advantages compare samples of a group)") }
        if promptsPerStep < 1 { p.append("prompts per step must be at least 1") }
        if steps < 0 { p.append("steps must not be negative") }
        if !(learningRate > 0) || !(sftLearningRate > 0) { p.append("learning rates must be positive") }
        if !(0..<1).contains(clipLow) || clipHigh < 0 { p.append("clip ranges must satisfy 0 ≤ ε_low < 1 and ε_high ≥ 0") }
        if beta < 0 { p.append("β must not be negative") }
        if innerEpochs < 1 { p.append("inner epochs must be at least 1") }
        if microBatch < 1 || sftBatchSize < 1 { p.append("batch sizes must be at least 1") }
        if maxNewTokens < 8 { p.append("max new tokens must be at least 8") }
        if maxNewTokens >= model.contextLength { p.append("max new tokens \(maxNewTokens) must leave room for the prompt in context \(model.contextLength)") }
        if checkpointEvery < 1 { p.append("checkpoint interval must be at least 1 step") }
        if evalEvery < 0 || evalPrompts < 0 { p.append("evaluation interval and prompt count must not be negative") }
        if temperature <= 0 { p.append("the sampling temperature must be positive") }
        if let t = revisionThreshold, !(-1...1).contains(t) { p.append("the revision threshold \(t) must be a final score in [-1, 1]") }
        if revisionFeedbackTokens < 8 { p.append("a revision's feedback must have room for at least 8 tokens") }
        p += hackingGuard.problems
        return p
    }

    public func validate() throws {
        let p = problems
        guard p.isEmpty else { throw PolicyTrainingError.invalidConfiguration(p.joined(separator: "; ")) }
    }

    /// The canonical JSON (sorted keys), as stored with checkpoints.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }
}

extension PolicyTrainingConfig {
    enum CodingKeys: String, CodingKey {
        case model, tokenizerItems, sftEpochs, sftBatchSize, sftLearningRate, sftSeed, estimator, lambda, aggregation
        case aggregationConstant, reward, groupSize, promptsPerStep, steps, learningRate, maxGradientNorm, clipLow
        case clipHigh, beta, innerEpochs, microBatch, temperature, maxNewTokens, seed, checkpointEvery, evalEvery
        case evalPrompts, hackingGuard, revisionThreshold, revisionFeedbackTokens
    }

    /// Missing keys take their defaults, so a config file names only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PolicyTrainingConfig()
        func v<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        model = try v(.model, d.model)
        tokenizerItems = try v(.tokenizerItems, d.tokenizerItems)
        sftEpochs = try v(.sftEpochs, d.sftEpochs)
        sftBatchSize = try v(.sftBatchSize, d.sftBatchSize)
        sftLearningRate = try v(.sftLearningRate, d.sftLearningRate)
        sftSeed = try v(.sftSeed, d.sftSeed)
        estimator = try v(.estimator, d.estimator)
        lambda = try v(.lambda, d.lambda)
        aggregation = try v(.aggregation, d.aggregation)
        aggregationConstant = try v(.aggregationConstant, d.aggregationConstant)
        reward = try v(.reward, d.reward)
        groupSize = try v(.groupSize, d.groupSize)
        promptsPerStep = try v(.promptsPerStep, d.promptsPerStep)
        steps = try v(.steps, d.steps)
        learningRate = try v(.learningRate, d.learningRate)
        maxGradientNorm = try v(.maxGradientNorm, d.maxGradientNorm)
        clipLow = try v(.clipLow, d.clipLow)
        clipHigh = try v(.clipHigh, d.clipHigh)
        beta = try v(.beta, d.beta)
        innerEpochs = try v(.innerEpochs, d.innerEpochs)
        microBatch = try v(.microBatch, d.microBatch)
        temperature = try v(.temperature, d.temperature)
        maxNewTokens = try v(.maxNewTokens, d.maxNewTokens)
        seed = try v(.seed, d.seed)
        checkpointEvery = try v(.checkpointEvery, d.checkpointEvery)
        evalEvery = try v(.evalEvery, d.evalEvery)
        evalPrompts = try v(.evalPrompts, d.evalPrompts)
        hackingGuard = try v(.hackingGuard, d.hackingGuard)
        revisionThreshold = try c.decodeIfPresent(Double.self, forKey: .revisionThreshold)
        revisionFeedbackTokens = try v(.revisionFeedbackTokens, d.revisionFeedbackTokens)
    }
}

/// What goes wrong in policy training, each with a sentence a user can act on.
public enum PolicyTrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case noData(String)
    case critiqueTimeout(String)
    case brokenCheckpoint(String)
    case stopped(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(s): return "invalid policy training configuration: \(s)"
        case let .noData(s): return s
        case let .critiqueTimeout(s): return s
        case let .brokenCheckpoint(s): return s
        case let .stopped(s): return s
        }
    }
}
