import ArgumentParser
import Foundation
import LanguageModel

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a tokenizer and a model from scratch on a text or JSONL corpus.")

    @Option(help: "Corpus file: plain text, or .jsonl with a \"text\" field per line.")
    var corpus: String
    @Option(help: "Directory for checkpoints (step-NNNNNN.safetensors and latest.safetensors).")
    var output = "checkpoints"
    @Option(help: "Model preset: small, standard or large.")
    var preset = "small"
    @Option(help: "Override the preset's layer count.") var layers: Int?
    @Option(help: "Override the preset's head count.") var heads: Int?
    @Option(help: "Override the preset's width (d_model).") var channels: Int?
    @Option(help: "Override the preset's context length.") var context: Int?
    @Option(help: "Override the preset's vocabulary size (the tokenizer is trained to this size).") var vocab: Int?
    @Option(help: "Training steps.") var steps = 1000
    @Option(help: "Sequences per batch.") var batchSize = 8
    @Option(help: "Tokens per sequence (default: the context length).") var sequenceLength: Int?
    @Option(help: "Peak learning rate.") var learningRate: Float = 1e-3
    @Option(help: "Final learning rate of the cosine schedule.") var minLearningRate: Float = 1e-4
    @Option(help: "Warmup steps.") var warmup = 50
    @Option(help: "AdamW weight decay.") var weightDecay: Float = 0.1
    @Option(help: "Gradient-norm clip (0 disables).") var clip: Float = 1.0
    @Option(help: "Fraction of the corpus held out for validation.") var validationFraction = 0.1
    @Option(help: "Evaluate validation loss every N steps.") var evalEvery = 100
    @Option(help: "Save a checkpoint every N steps.") var saveEvery = 500
    @Option(help: "BLAS threads.") var threads = 2
    @Option(help: "Random seed (initialisation and batch order).") var seed: UInt64 = 1337

    func run() throws {
        BLAS.setThreadCount(threads)
        ParallelSettings.workerCount = threads
        guard var config = TransformerConfig.presets[preset] else {
            throw ValidationError("unknown preset \(preset); choose one of \(TransformerConfig.presets.keys.sorted())")
        }
        if let layers { config.layerCount = layers }
        if let heads { config.headCount = heads }
        if let channels { config.channelCount = channels }
        if let context { config.contextLength = context }
        if let vocab { config.vocabularySize = vocab }
        try config.validate()
        let T = sequenceLength ?? config.contextLength
        guard T <= config.contextLength, T > 0 else { throw ValidationError("sequence length must be in 1...\(config.contextLength)") }

        let text = try Corpus.load(corpus)
        var start = now()
        let tokenizer = try Tokenizer.train(corpus: text, vocabularySize: config.vocabularySize)
        let tokens = tokenizer.encode(text)
        print(String(format: "tokenizer: %d tokens (%d merges) in %.1fs; corpus %d bytes -> %d tokens (%.2f bytes/token)",
                     tokenizer.vocabularySize, tokenizer.merges.count, now() - start, text.utf8.count, tokens.count,
                     Double(text.utf8.count) / Double(max(1, tokens.count))))
        let split = Int(Double(tokens.count) * (1 - validationFraction))
        let train = TokenDataset(tokens: Array(tokens[..<split]))
        let validation = TokenDataset(tokens: Array(tokens[split...]))
        guard train.tokens.count > T + 1 else { throw ValidationError("corpus too small for sequence length \(T)") }
        let canValidate = validation.tokens.count > T + 1

        let model = try Transformer(config: config, seed: seed)
        let optimizer = model.makeOptimizer(AdamWConfig(weightDecay: weightDecay))
        let schedule = LearningRateSchedule(maxRate: learningRate, minRate: minLearningRate, warmupSteps: warmup, totalSteps: steps)
        print("config: \(config)")
        print("training: steps \(steps), batch \(batchSize)x\(T), \(schedule), clip \(clip), weight decay \(weightDecay), threads \(threads), seed \(seed)")
        print(String(format: "data: %d training tokens, %d validation tokens; unigram entropy of validation %.3f nats/token",
                     train.tokens.count, validation.tokens.count, canValidate ? validation.unigramEntropy() : Double.nan))
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        var rng = SeededGenerator(seed: seed ^ 0xDA7A)
        var lastValidation = Float.nan
        var smoothed = Float.nan
        start = now()
        var trainingSeconds = 0.0
        let tokensPerStep = batchSize * T
        for step in 0..<steps {
            let t0 = now()
            let loss = try model.forward(train.randomBatch(batchSize: batchSize, sequenceLength: T, rng: &rng))
            model.zeroGradients()
            model.backward()
            let norm = model.update(optimizer: optimizer, learningRate: schedule.rate(at: step), maxGradientNorm: clip)
            trainingSeconds += now() - t0
            smoothed = smoothed.isNaN ? loss : 0.9 * smoothed + 0.1 * loss
            let done = step + 1
            if canValidate && (done % evalEvery == 0 || done == steps) {
                lastValidation = try validation.meanLoss(model: model, batchSize: batchSize, sequenceLength: T)
            }
            let tokPerSecond = Double(done * tokensPerStep) / trainingSeconds
            let eta = (now() - start) / Double(done) * Double(steps - done)
            let width = 24, filled = width * done / steps
            let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
            // No validation loss until the first evaluation.
            let validation = lastValidation.isNaN ? "  -   " : String(format: "%.4f", lastValidation)
            let line = String(format: "\rstep %d/%d [%@] loss %.4f (avg %.4f) val %@ | |g| %.2f lr %.2e | %.0f tok/s | ETA %@   ",
                              done, steps, bar, loss, smoothed, validation, norm, schedule.rate(at: step), tokPerSecond,
                              formatDuration(eta))
            print(line, terminator: "")
            fflush(stdout)
            if done % evalEvery == 0 { print("") }
            if done % saveEvery == 0 || done == steps {
                let meta = ["step": "\(done)", "train_loss": "\(smoothed)", "validation_loss": "\(lastValidation)"]
                let bytes = model.checkpointBytes(tokenizer: tokenizer, metadata: meta)
                let name = String(format: "step-%06d.safetensors", done)
                try Data(bytes).write(to: URL(fileURLWithPath: output).appendingPathComponent(name), options: .atomic)
                try Data(bytes).write(to: URL(fileURLWithPath: output).appendingPathComponent("latest.safetensors"), options: .atomic)
            }
        }
        print("")
        print(String(format: "done: %d steps in %@, %.0f training tokens/s, final validation loss %.4f nats/token, checkpoint %@/latest.safetensors",
                     steps, formatDuration(now() - start), Double(steps * tokensPerStep) / trainingSeconds, lastValidation, output))
    }
}
