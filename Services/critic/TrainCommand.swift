import ArgumentParser
import Bus
import DeepPref
import Events
import Foundation
import LanguageModel
import Logging
import RewardModel
import ServiceRuntime
import Store

/// `critic train`: supervised fine-tuning of the reward model from scratch on the oracle-labelled
/// corpus built from the council annotations in PostgreSQL; the checkpoint goes into
/// `checkpoints` and is announced on `training.checkpoints.v1`.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the Pers-GenPRM (or the scalar baseline) on the council annotations in PostgreSQL.",
        discussion: """
            Builds the labelled corpus (references, mixed and garbled chains, labelled by the step \
            oracle) from the train and validation splits, stores its responses, trains a BPE tokenizer \
            and the transformer, validates every epoch, stores the checkpoint (safetensors, config, \
            tokenizer, metrics, sha256) and announces it. A run whose checkpoint is already stored is \
            reused unless --force is given.
            """)

    @OptionGroup var options: ServiceOptions

    @Option(help: "What the model writes: critique (the Pers-GenPRM) or scalar (the baseline).")
    var target: PRMTarget = .critique
    @Option(help: "Configuration preset: full or quick (sized for the main job).")
    var preset = "full"
    @Option(help: "Override the preset's epochs.") var epochs: Int?
    @Option(help: "Override the preset's examples per epoch.") var examplesPerEpoch: Int?
    @Option(help: "Override the model width.") var channels: Int?
    @Option(help: "Override the layer count.") var layers: Int?
    @Option(help: "Override the context length.") var context: Int?
    @Option(help: "Override the vocabulary size.") var vocab: Int?
    @Option(help: "Override the batch size.") var batchSize: Int?
    @Option(help: "Override the peak learning rate.") var learningRate: Float?
    @Option(help: "Where the critiques stand: interleaved (each after its step) or after_response (default: interleaved; the scalar target always reads the whole response).")
    var layout: PRMLayout?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "BLAS threads.") var threads = 2
    @Option(help: "Use at most this many train-split queries (all when omitted).") var limit: Int?
    @Option(help: "Run id (default: derived from the configuration and the data).") var runID: String?
    @Flag(help: "Train again even when this run's checkpoint is stored.") var force = false
    @Flag(help: "Do not announce the checkpoint on Kafka.") var noAnnounce = false

    func resolvedConfig() throws -> PRMTrainingConfig {
        var c: PRMTrainingConfig
        switch preset {
        case "full": c = PRMTrainingConfig()
        case "quick": c = PRMTrainingConfig.quick
        default: throw ValidationError("unknown preset '\(preset)'; choose full or quick")
        }
        c.target = target
        if let layout { c.layout = layout }
        if target == .scalar {
            guard layout != .interleaved else { throw ValidationError("the scalar target reads the whole response first; --layout interleaved is for the critique target") }
            c.layout = .afterResponse
        }
        if let epochs { c.epochs = epochs }
        if let examplesPerEpoch { c.examplesPerEpoch = examplesPerEpoch }
        if let channels { c.model.channelCount = channels }
        if let layers { c.model.layerCount = layers }
        if let context { c.model.contextLength = context }
        if let vocab { c.model.vocabularySize = vocab }
        if let batchSize { c.batchSize = batchSize }
        if let learningRate { c.learningRate = learningRate }
        c.seed = seed
        c.threads = threads
        try c.validate()
        return c
    }

    func run() async throws {
        CriticData.lineBufferedOutput()
        ServiceLogging.bootstrap(service: "critic-train", options: options)
        let config = try resolvedConfig()
        let database = Database(configuration: options.databaseConfiguration(applicationName: "critic-train"))
        defer { database.shutdown() }
        try await Migrator.migrate(database)
        let pack = try KnowledgePack.builtin()

        let started = Date()
        var trainItems = try await CriticData.annotatedQueries(database, split: "train", limit: limit)
        let validationItems = try await CriticData.annotatedQueries(database, split: "validation", limit: limit.map { max(50, $0 / 8) })
        guard !trainItems.isEmpty else {
            throw ValidationError("no annotated train-split queries in PostgreSQL; build and annotate DeepPref first (make run)")
        }
        trainItems.sort { $0.query.queryID < $1.query.queryID }
        let corpus = PRMCorpus(pack: pack)
        let train = corpus.examples(trainItems)
        let validation = corpus.examples(validationItems)
        print("critic train: \(trainItems.count) train and \(validationItems.count) validation queries -> "
              + "\(train.count) train and \(validation.count) validation examples (\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
        print("critic train: train examples by origin: \(CriticData.summary(train))")

        let run = runID ?? Self.runID(config: config, queries: trainItems.map(\.query.queryID))
        let checkpointID = "\(run)-final"
        if !force, let existing = try await database.withConnection({ try CheckpointRepository($0).load(checkpointID) }) {
            print("critic train: checkpoint \(existing.checkpointID) of this run is already stored (sha256 \(existing.sha256?.prefix(12) ?? "?")…); reusing it (--force trains again)")
            return
        }
        let stored = try await CriticData.store(train + validation, database: database)
        print("critic train: stored \(stored.responses) new responses and \(stored.labels) new oracle labels")
        print("critic train: run \(run), configuration \(config.json)")

        let trainer = try PRMTrainer(config: config)
        let t0 = Date()
        let tokenizer = try trainer.trainTokenizer(on: train)
        print(String(format: "critic train: tokenizer %d tokens in %.1f s", tokenizer.vocabularySize, Date().timeIntervalSince(t0)))
        let format = try PRMFormat(tokenizer: tokenizer, target: config.target, layout: config.effectiveLayout)
        let lengths = train.prefix(2000).map { format.trainingSequence($0).tokens.count }.sorted()
        print("critic train: sequence tokens p50 \(lengths[lengths.count / 2]), p95 \(lengths[lengths.count * 95 / 100]), "
              + "max \(lengths.last!) (context \(config.model.contextLength))")
        let bar = TrainingProgressBar(label: "critic train")
        let result = try trainer.train(train: train, validation: validation, tokenizer: tokenizer,
                                       log: { bar.interrupt(); print("critic train: \($0)") },
                                       progress: { bar.update($0) })
        bar.finish()
        if result.droppedTooLong > 0 {
            print("critic train: \(result.droppedTooLong) examples did not fit the \(config.model.contextLength)-token context and were left out")
        }
        var figures = result.metrics
        figures["dropped_too_long"] = Double(result.droppedTooLong)
        figures["train_examples"] = Double(train.count)
        let metrics = figures
        let bytes = result.model.checkpointBytes(tokenizer: tokenizer, metadata: ["run_id": run, "target": config.target.rawValue])
        let configJSON = Self.checkpointConfig(config: config, model: result.model.config, metrics: metrics)
        let record = CheckpointRecord(checkpointID: checkpointID, modelKind: "prm", runID: run, step: result.steps,
                                      configJSON: configJSON, safetensors: bytes)
        try await CriticData.retrying("storing checkpoint \(checkpointID)") {
            try await database.withConnection { connection in
                try CheckpointRepository(connection).save(record)
                try TrainingMetricsRepository(connection).record(runID: run, step: result.steps, metrics: metrics)
            }
        }
        print(String(format: "critic train: %d steps in %.0f s (%.0f tokens/s); checkpoint %@ (%d bytes) stored",
                     result.steps, result.seconds, result.tokensPerSecond, checkpointID, bytes.count))
        if !noAnnounce {
            try await Self.announce(record, metrics: metrics, database: database, options: options)
            print("critic train: announced on \(options.topic(.checkpoints, flag: nil))")
        }
    }

    /// A run id from the configuration and the training queries, so the same inputs find the same run.
    static func runID(config: PRMTrainingConfig, queries: [String]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (config.json + "|" + queries.joined(separator: ",")).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "prm-\(config.target.rawValue)-" + String(h, radix: 16).prefix(10)
    }

    /// `{"training": {...}, "model": {...}, "metrics": {...}}`, stored with the checkpoint.
    static func checkpointConfig(config: PRMTrainingConfig, model: TransformerConfig, metrics: [String: Double]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let training = String(decoding: (try? encoder.encode(config)) ?? Data("{}".utf8), as: UTF8.self)
        let modelJSON = String(decoding: (try? encoder.encode(model)) ?? Data("{}".utf8), as: UTF8.self)
        let metricsJSON = String(decoding: (try? encoder.encode(metrics.filter { $0.value.isFinite })) ?? Data("{}".utf8),
                                 as: UTF8.self)
        return "{\"training\":\(training),\"model\":\(modelJSON),\"metrics\":\(metricsJSON)}"
    }

    /// Publishes `checkpoint_published` (kind prm, algorithm prm_sft) for a stored checkpoint.
    static func announce(_ record: CheckpointRecord, metrics: [String: Double], database: Database,
                         options: ServiceOptions) async throws {
        try await CheckpointAnnouncement.announce(record, kind: .prm, algorithm: .prmSFT, metrics: metrics, database: database,
                                                  options: options, producer: "critic-train")
    }
}

extension PRMTarget: ExpressibleByArgument {}
extension PRMLayout: ExpressibleByArgument {}
