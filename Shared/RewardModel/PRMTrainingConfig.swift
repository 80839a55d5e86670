import Foundation
import LanguageModel

/// The reward model's training run: backbone, data and optimiser settings. Logged when a run
/// starts and stored with its checkpoint (`checkpoints.config`).
public struct PRMTrainingConfig: Codable, Equatable, Sendable {
    /// What the model writes: the critique chain or only the final score. Default: critique
    public var target: PRMTarget = .critique
    /// The transformer (trained from scratch; its tokenizer is trained to `vocabularySize`).
    /// Default: vocabulary 2048, context 768, 2 layers, 4 heads, width 128
    public var model = TransformerConfig(vocabularySize: 2048, contextLength: 768, layerCount: 2, headCount: 4,
                                         channelCount: 128)
    /// Passes over the training examples. Default: 2
    public var epochs = 2
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
}
