import Foundation
import LanguageModel

/// The reward model's training run: backbone, data and optimiser settings. Logged when a run
/// starts and stored with its checkpoint (`checkpoints.config`).
public struct PRMTrainingConfig: Codable, Equatable, Sendable {
    /// What the model writes: the critique chain or only the final score. Default: critique
    public var target: PRMTarget = .critique
    /// Where the critiques stand in the sequence (the scalar target always reads the whole
    /// response first). Default: interleaved. Checkpoints stored before the field existed are
    /// `after_response`.
    public var layout: PRMLayout = .interleaved
    /// The transformer (trained from scratch; its tokenizer is trained to `vocabularySize`).
    /// Default: vocabulary 2048, context 768, 2 layers, 4 heads, width 128
    public var model = TransformerConfig(vocabularySize: 2048, contextLength: 768, layerCount: 2, headCount: 4,
                                         channelCount: 128)
    /// Passes over the training examples. Default: 1
    public var epochs = 1
    /// Training examples drawn per epoch (all when nil). Default: nil
    public var examplesPerEpoch: Int?
    /// Sequences per optimiser step. Default: 16
    public var batchSize = 16
    /// Peak learning rate (cosine schedule after a linear warm-up). Default: 2e-3
    public var learningRate: Float = 2e-3
    /// Final learning rate. Default: 2e-4
    public var minLearningRate: Float = 2e-4
    /// Default: 40
    public var warmupSteps = 40
    /// AdamW weight decay. Default: 0.1
    public var weightDecay: Float = 0.1
    /// Gradient-norm clip. Default: 1
    public var clip: Float = 1
    /// Initialisation and data order. Default: 1
    public var seed: UInt64 = 1
    /// Bytes of training prompts and targets the tokenizer is trained on. Default: 1,500,000
    public var tokenizerSampleBytes = 1_500_000
    /// Validation examples whose loss is measured after every epoch. Default: 512
    public var validationLossExamples = 512
    /// Validation examples critiqued (generated) after every epoch. Default: 64
    public var validationGenerations = 64
    /// BLAS threads. Default: 2
    public var threads = 2

    public init() {}

    /// The layout the model is trained and decoded with.
    public var effectiveLayout: PRMLayout { target == .scalar ? .afterResponse : layout }

    private enum CodingKeys: String, CodingKey {
        case target, layout, model, epochs, examplesPerEpoch, batchSize, learningRate, minLearningRate, warmupSteps,
             weightDecay, clip, seed, tokenizerSampleBytes, validationLossExamples, validationGenerations, threads
    }

    /// Decodes a stored configuration; a field it lacks keeps its default, except `layout`, which
    /// is `after_response` for configurations stored before interleaving.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PRMTrainingConfig()
        target = try c.decodeIfPresent(PRMTarget.self, forKey: .target) ?? d.target
        layout = try c.decodeIfPresent(PRMLayout.self, forKey: .layout) ?? .afterResponse
        model = try c.decodeIfPresent(TransformerConfig.self, forKey: .model) ?? d.model
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        examplesPerEpoch = try c.decodeIfPresent(Int.self, forKey: .examplesPerEpoch)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        minLearningRate = try c.decodeIfPresent(Float.self, forKey: .minLearningRate) ?? d.minLearningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        clip = try c.decodeIfPresent(Float.self, forKey: .clip) ?? d.clip
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        tokenizerSampleBytes = try c.decodeIfPresent(Int.self, forKey: .tokenizerSampleBytes) ?? d.tokenizerSampleBytes
        validationLossExamples = try c.decodeIfPresent(Int.self, forKey: .validationLossExamples) ?? d.validationLossExamples
        validationGenerations = try c.decodeIfPresent(Int.self, forKey: .validationGenerations) ?? d.validationGenerations
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads
    }

    /// The preset sized for the main job (a few minutes on two cores).
    public static let quick: PRMTrainingConfig = {
        var c = PRMTrainingConfig()
        c.epochs = 1
        c.examplesPerEpoch = 8000
        return c
    }()

    public func validate() throws {
        try model.validate()
        guard epochs >= 1, batchSize >= 1, warmupSteps >= 0, learningRate > 0, minLearningRate >= 0, threads >= 1 else {
            throw ModelError(.invalidConfiguration, "epochs, batch size and threads must be ≥ 1, rates positive")
        }
        if let n = examplesPerEpoch, n < batchSize {
            throw ModelError(.invalidConfiguration, "examples per epoch \(n) is below the batch size \(batchSize)")
        }
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The target a stored checkpoint's config names (`{"training": {"target": "scalar"}}`).
    public static func target(inConfigJSON json: String) -> PRMTarget? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let training = object["training"] as? [String: Any], let raw = training["target"] as? String else { return nil }
        return PRMTarget(rawValue: raw)
    }

    /// The jsonb `@>` filter on `checkpoints.config` that selects the checkpoints of a target.
    public static func checkpointFilter(target: PRMTarget) -> String {
        "{\"training\":{\"target\":\"\(target.rawValue)\"}}"
    }

    /// The layout a stored checkpoint's config names; `after_response` when it names none.
    public static func layout(inConfigJSON json: String) -> PRMLayout {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let training = object["training"] as? [String: Any] else { return .afterResponse }
        if (training["target"] as? String) == PRMTarget.scalar.rawValue { return .afterResponse }
        return (training["layout"] as? String).flatMap(PRMLayout.init(rawValue:)) ?? .afterResponse
    }
}
