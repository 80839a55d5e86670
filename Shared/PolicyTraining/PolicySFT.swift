import Events
import Foundation
import LanguageModel
import Tensor

/// The warm start (DESIGN §7): a tokenizer trained on the train split's prompts and council
/// references, and a policy trained from scratch to write the references ("Step 1: ... Answer:
/// ...") given the profile and question, with the loss on the response tokens only.
public enum PolicySFT {
    public struct Progress: Sendable {
        public var step: Int
        public var totalSteps: Int
        public var loss: Float
        public var tokensPerSecond: Double
        public var etaSeconds: Double
    }

    public struct Result {
        public var model: Transformer
        public var tokenizer: Tokenizer
        public var steps: Int
        public var seconds: Double
        /// `sft_train_loss`, `sft_validation_loss`, `sft_tokens_per_s`, `sft_dropped_too_long`.
        public var metrics: [String: Double]
    }

    /// Trains the tokenizer on the first `config.tokenizerItems` items (in query-id order).
    public static func tokenizer(_ items: [AnnotatedQuery], config: PolicyTrainingConfig) throws -> Tokenizer {
        try Tokenizer.train(corpus: PolicyFormat.tokenizerCorpus(Array(items.prefix(config.tokenizerItems))),
                            vocabularySize: config.model.vocabularySize)
    }

    /// The training sequence of an item: prompt + reference + `<|eos|>`, trained on the response.
    public static func sequence(_ item: AnnotatedQuery, format: PolicyFormat) -> (tokens: [Int32], mask: [Bool]) {
        let prompt = format.promptTokens(profile: item.query.profile, question: item.query.question)
        let response = format.responseTokens(PolicyFormat.reference(item))
        return (prompt + response, [Bool](repeating: false, count: prompt.count) + [Bool](repeating: true, count: response.count))
    }

    public static func train(train: [AnnotatedQuery], validation: [AnnotatedQuery], config: PolicyTrainingConfig,
                             log: (String) -> Void = { _ in }, progress: (Progress) -> Void = { _ in }) throws -> Result {
        try config.validate()
        guard !train.isEmpty else { throw PolicyTrainingError.noData("no train-split annotated queries for the warm start") }
        let started = Date()
        let tokenizer = try tokenizer(train, config: config)
        let format = try PolicyFormat(tokenizer: tokenizer)
        var modelConfig = config.model
        modelConfig.vocabularySize = tokenizer.vocabularySize
        let model = try Transformer(config: modelConfig, seed: config.sftSeed)
        let limit = modelConfig.contextLength + 1
        let all = train.map { sequence($0, format: format) }
        let sequences = all.filter { $0.tokens.count <= limit }
        let dropped = all.count - sequences.count
        guard sequences.count >= config.sftBatchSize else {
            throw PolicyTrainingError.noData("only \(sequences.count) reference chains fit the context of \(modelConfig.contextLength) tokens")
        }
        let validationSequences = validation.map { sequence($0, format: format) }.filter { $0.tokens.count <= limit }
        log("warm start: \(sequences.count) reference chains (\(dropped) longer than the context left out), "
            + "\(sequences.map(\.tokens.count).reduce(0, +) / sequences.count) tokens on average; \(modelConfig)")
        var rng = SeededGenerator(seed: config.sftSeed ^ 0x5F7)
        let lengths = sequences.map(\.tokens.count)
        let plans = (0..<config.sftEpochs).map { _ in
            LengthBuckets.plan(Array(sequences.indices.shuffled(using: &rng)), lengths: lengths, batchSize: config.sftBatchSize,
                               contextPlusOne: limit, rng: &rng)
        }
        let total = plans.map(\.count).reduce(0, +)
        let schedule = LearningRateSchedule(maxRate: config.sftLearningRate, minRate: config.sftLearningRate / 10,
                                            warmupSteps: min(20, total / 4), totalSteps: total)
        let optimizer = model.makeOptimizer()
        let pad = tokenizer.specialID("<|pad|>") ?? 0
        var step = 0, tokens = 0, compute = 0.0
        var smoothed = Float.nan
        for (epoch, plan) in plans.enumerated() {
            for batch in plan {
                let t0 = Date()
                let tokenBatch = LengthBuckets.paddedBatch(batch.items.map { sequences[$0] }, length: batch.length, pad: pad)
                let loss = try model.forward(tokenBatch)
                model.zeroGradients()
                model.backward()
                model.update(optimizer: optimizer, learningRate: schedule.rate(at: step), maxGradientNorm: 1)
                compute += Date().timeIntervalSince(t0)
                tokens += tokenBatch.batchSize * tokenBatch.sequenceLength
                step += 1
                smoothed = smoothed.isNaN ? loss : 0.95 * smoothed + 0.05 * loss
                let elapsed = Date().timeIntervalSince(started)
                progress(Progress(step: step, totalSteps: total, loss: smoothed, tokensPerSecond: Double(tokens) / max(compute, 1e-9),
                                  etaSeconds: elapsed / Double(step) * Double(total - step)))
            }
            log(String(format: "warm start: epoch %d/%d, train loss %.4f", epoch + 1, config.sftEpochs, smoothed))
        }
        var metrics: [String: Double] = [
            "sft_train_loss": Double(smoothed), "sft_tokens_per_s": Double(tokens) / max(compute, 1e-9),
            "sft_dropped_too_long": Double(dropped), "sft_steps": Double(step),
        ]
        if !validationSequences.isEmpty {
            var total = 0.0
            for chunk in stride(from: 0, to: validationSequences.count, by: config.sftBatchSize) {
                let part = Array(validationSequences[chunk..<min(validationSequences.count, chunk + config.sftBatchSize)])
                total += Double(try model.forward(TokenBatch(sequences: part.map(\.tokens), lossMasks: part.map(\.mask), padToken: pad)))
                    * Double(part.count)
            }
            metrics["sft_validation_loss"] = total / Double(validationSequences.count)
        }
        let seconds = Date().timeIntervalSince(started)
        metrics["sft_seconds"] = seconds
        return Result(model: model, tokenizer: tokenizer, steps: step, seconds: seconds, metrics: metrics)
    }
}
