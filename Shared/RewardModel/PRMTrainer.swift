import Critique
import Events
import Foundation
import LanguageModel
import Tensor

/// Supervised fine-tuning of the reward model: the Shared/LanguageModel transformer, from scratch
/// (or from a checkpoint, for a refresh), on oracle-labelled chains, with the loss on the critique
/// tokens only. Batches group sequences of similar length, so little compute goes to padding.
public final class PRMTrainer {
    /// One optimiser step's figures, for a progress bar.
    public struct Progress: Sendable {
        public var step: Int
        public var totalSteps: Int
        public var epoch: Int
        public var loss: Float
        public var tokensPerSecond: Double
        public var etaSeconds: Double
    }

    /// What a finished run leaves.
    public struct Result {
        public var model: Transformer
        public var format: PRMFormat
        public var steps: Int
        public var seconds: Double
        public var tokensPerSecond: Double
        /// Examples left out because prompt + target exceed the context.
        public var droppedTooLong: Int
        /// `train_loss`, `validation_loss`, `validation_parse_rate`, `validation_step_sign_agreement`, ...
        public var metrics: [String: Double]
    }

    public let config: PRMTrainingConfig

    public init(config: PRMTrainingConfig) throws {
        try config.validate()
        self.config = config
    }

    /// Trains a byte-level BPE tokenizer on a sample of the corpus's prompts and targets.
    public func trainTokenizer(on examples: [PRMExample]) throws -> Tokenizer {
        var rng = SeededGenerator(seed: config.seed ^ 0x70C)
        var text = ""
        for e in examples.shuffled(using: &rng) {
            text += PRMFormat.promptText(profile: e.profile, question: e.question, steps: e.variant.steps,
                                         answer: e.variant.answer)
            text += e.label.text + "\nFinal score: \(CritiqueChain.format(e.label.finalScore))\n"
            if text.utf8.count >= config.tokenizerSampleBytes { break }
        }
        return try Tokenizer.train(corpus: text, vocabularySize: config.model.vocabularySize)
    }

    /// Runs the training. `start` continues from a model (a refresh) instead of a fresh one; its
    /// configuration must match. `log` receives one line per epoch; `progress` every step.
    public func train(train: [PRMExample], validation: [PRMExample], tokenizer: Tokenizer, start: Transformer? = nil,
                      log: (String) -> Void = { _ in }, progress: (Progress) -> Void = { _ in }) throws -> Result {
        BLAS.setThreadCount(config.threads)
        let format = try PRMFormat(tokenizer: tokenizer, target: config.target, layout: config.effectiveLayout)
        var modelConfig = config.model
        modelConfig.vocabularySize = tokenizer.vocabularySize
        let model: Transformer
        if let start {
            guard start.config == modelConfig else {
                throw ModelError(.invalidConfiguration, "the starting checkpoint is \(start.config), the run wants \(modelConfig)")
            }
            model = start
        } else {
            model = try Transformer(config: modelConfig, seed: config.seed)
        }
        let T = modelConfig.contextLength
        var dropped = 0
        let sequences: [(tokens: [Int32], mask: [Bool])] = train.compactMap { e in
            let s = format.trainingSequence(e)
            if s.tokens.count > T + 1 { dropped += 1; return nil }
            return s
        }
        guard sequences.count >= config.batchSize else {
            throw ModelError(.invalidConfiguration, "\(sequences.count) training sequences fit the context; need at least a batch")
        }
        let validationSequences = Self.spread(validation, config.validationLossExamples).map(format.trainingSequence)
            .filter { $0.tokens.count <= T + 1 }
        let perEpoch = min(sequences.count, config.examplesPerEpoch ?? sequences.count)
        var rng = SeededGenerator(seed: config.seed ^ 0xDA7A)
        let lengths = sequences.map(\.tokens.count)
        let plans = (1...config.epochs).map { _ in
            LengthBuckets.plan(Array(sequences.indices.shuffled(using: &rng).prefix(perEpoch)), lengths: lengths,
                               batchSize: config.batchSize, contextPlusOne: T + 1, rng: &rng)
        }
        let totalSteps = plans.map(\.count).reduce(0, +)
        let schedule = LearningRateSchedule(maxRate: config.learningRate, minRate: config.minLearningRate,
                                            warmupSteps: min(config.warmupSteps, totalSteps / 4), totalSteps: totalSteps)
        let optimizer = model.makeOptimizer(AdamWConfig(weightDecay: config.weightDecay))
        let pad = tokenizer.specialID("<|pad|>") ?? 0
        var metrics: [String: Double] = [:]
        var step = 0, tokensSeen = 0
        var smoothed = Float.nan
        let started = Date()
        var computeSeconds = 0.0
        for epoch in 1...config.epochs {
            for batch in plans[epoch - 1] {
                let t0 = Date()
                let tokenBatch = LengthBuckets.paddedBatch(batch.items.map { sequences[$0] }, length: batch.length, pad: pad)
                let loss = try model.forward(tokenBatch)
                model.zeroGradients()
                model.backward()
                _ = model.update(optimizer: optimizer, learningRate: schedule.rate(at: step), maxGradientNorm: config.clip)
                computeSeconds += Date().timeIntervalSince(t0)
                tokensSeen += tokenBatch.batchSize * tokenBatch.sequenceLength
                step += 1
                smoothed = smoothed.isNaN ? loss : 0.95 * smoothed + 0.05 * loss
                let elapsed = Date().timeIntervalSince(started)
                progress(Progress(step: step, totalSteps: totalSteps, epoch: epoch, loss: smoothed,
                                  tokensPerSecond: Double(tokensSeen) / max(computeSeconds, 1e-9),
                                  etaSeconds: elapsed / Double(step) * Double(totalSteps - step)))
            }
            // Validation: loss on the critique tokens, then a sample critiqued by generation.
            metrics["train_loss"] = Double(smoothed)
            metrics["validation_loss"] = try Self.meanLoss(model, validationSequences, batchSize: config.batchSize, pad: pad)
            let critic = PRMCritic(model: model, format: format, checkpointID: nil)
            let sample = Self.spread(validation, config.validationGenerations)
            if !sample.isEmpty {
                let outcomes = try critic.critiqueNow(sample.map(\.request))
                let report = PRMEvaluation(examples: sample, outcomes: outcomes)
                metrics["validation_parse_rate"] = 1 - report.parseFailureRate
                if let a = report.stepSignAgreement { metrics["validation_step_sign_agreement"] = a }
                metrics["validation_final_mae"] = report.finalScoreMAE
            }
            log(String(format: "epoch %d/%d: train loss %.4f, validation loss %.4f, parse rate %.3f, step-sign agreement %@, final-score MAE %.3f",
                       epoch, config.epochs, metrics["train_loss"] ?? .nan, metrics["validation_loss"] ?? .nan,
                       metrics["validation_parse_rate"] ?? .nan,
                       metrics["validation_step_sign_agreement"].map { String(format: "%.3f", $0) } ?? "-",
                       metrics["validation_final_mae"] ?? .nan))
        }
        let seconds = Date().timeIntervalSince(started)
        metrics["training_seconds"] = seconds
        metrics["tokens_per_s"] = Double(tokensSeen) / max(computeSeconds, 1e-9)
        return Result(model: model, format: format, steps: step, seconds: seconds,
                      tokensPerSecond: metrics["tokens_per_s"]!, droppedTooLong: dropped, metrics: metrics)
    }

    /// At most `n` items spread evenly over `items` (so every kind of example is represented).
    static func spread<T>(_ items: [T], _ n: Int) -> [T] {
        guard items.count > n, n > 0 else { return n > 0 ? items : [] }
        return (0..<n).map { items[$0 * items.count / n] }
    }

    /// Mean loss per target token over sequences (forward passes only).
    static func meanLoss(_ model: Transformer, _ sequences: [(tokens: [Int32], mask: [Bool])], batchSize: Int,
                         pad: Int32) throws -> Double {
        guard !sequences.isEmpty else { return .nan }
        var total = 0.0, count = 0
        let sorted = sequences.sorted { $0.tokens.count < $1.tokens.count }
        var i = 0
        while i < sorted.count {
            let chunk = Array(sorted[i..<min(sorted.count, i + batchSize)])
            let loss = try model.forward(TokenBatch(sequences: chunk.map(\.tokens), lossMasks: chunk.map(\.mask), padToken: pad))
            total += Double(loss) * Double(chunk.count)
            count += chunk.count
            i += batchSize
        }
        return total / Double(count)
    }
}

extension PRMExample {
    /// The critique request this example stands for.
    public var request: CritiqueRequested {
        CritiqueRequested(requestID: responseID, queryID: queryID, profile: profile, question: question,
                          responseID: responseID, steps: variant.steps, answer: variant.answer)
    }
}
