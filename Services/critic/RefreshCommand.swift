import ArgumentParser
import Critique
import DeepPref
import Events
import Foundation
import LanguageModel
import OracleJudge
import RewardModel
import ServiceRuntime
import Store

/// `critic refresh`: the path the policy trainer calls when the PRM–oracle gap grows. Policy
/// samples stored in `responses` are labelled by the step oracle, the PRM is fine-tuned on them
/// (with a replay share of its original corpus, so it does not forget it) from its current
/// checkpoint, and the new checkpoint is stored with its parent and announced, so critics reload.
struct RefreshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Fine-tune the newest PRM on oracle-labelled policy samples and announce the new checkpoint.")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Checkpoint to refresh (default: the newest of --target).") var checkpoint: String?
    @Option(help: "critique or scalar.") var target: PRMTarget = .critique
    @Option(help: "Responses whose origin starts with this are the new samples.") var origin = "policy"
    @Option(help: "Only the samples of this policy checkpoint.") var policyCheckpoint: String?
    @Option(help: "At most this many samples (the newest).") var samples = 2000
    @Option(help: "Replay examples from the original corpus per new sample.") var replay = 1.0
    @Option(help: "Epochs over samples + replay.") var epochs = 1
    @Option(help: "Peak learning rate of the fine-tuning.") var learningRate: Float = 5e-4
    @Option(help: "BLAS threads.") var threads = 2
    @Flag(help: "Do not announce the checkpoint on Kafka.") var noAnnounce = false

    func run() async throws {
        CriticData.lineBufferedOutput()
        ServiceLogging.bootstrap(service: "critic-refresh", options: options)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "critic-refresh"))
        defer { database.shutdown() }
        try await Migrator.migrate(database)
        let current = try await CriticData.checkpoint(checkpoint, target: target, database: database)
        let loaded = try Checkpoint(bytes: current.safetensors)
        guard let tokenizer = loaded.tokenizer else { throw ValidationError("checkpoint \(current.checkpointID) carries no tokenizer") }
        var config = try Self.trainingConfig(fromCheckpointConfig: current.configJSON)
        config.epochs = epochs
        config.examplesPerEpoch = nil
        config.learningRate = learningRate
        config.minLearningRate = learningRate / 10
        config.warmupSteps = 10
        config.threads = threads

        let responses = try await database.withConnection {
            try ResponseRepository($0).load(originPrefix: origin, modelCheckpoint: policyCheckpoint)
        }.suffix(samples)
        guard !responses.isEmpty else {
            throw ValidationError("no responses with origin '\(origin)'\(policyCheckpoint.map { " of checkpoint \($0)" } ?? "") to learn from")
        }
        let byQuery = try await database.withConnection { connection in
            try AnnotationRepository(connection).annotatedQueries(backend: CriticData.annotationBackend,
                                                                  byID: Array(Set(responses.map(\.queryID))))
        }
        let corpus = PRMCorpus(pack: try KnowledgePack.builtin())
        var fresh: [PRMExample] = []
        var labels: [(produced: CritiqueProduced, sourceEventID: UUID?)] = []
        var unusable = 0
        for r in responses {
            guard let item = byQuery[r.queryID], let parsed = ResponseLayout.parse(r.text) else { unusable += 1; continue }
            var example = corpus.label(ChainVariant(origin: r.origin, steps: parsed.steps, answer: parsed.answer), item)
            example.variant.origin = r.origin
            fresh.append(example)
            var label = CriticData.labelReply(example)
            label.requestID = CriticData.labelRequestID(r.responseID)
            label.responseID = r.responseID
            labels.append((label, nil))
        }
        let labelRows = labels
        let storedLabels = try await database.withConnection { try CritiqueRepository($0).store(labelRows, backend: "oracle") }
        print("critic refresh: stored \(storedLabels) new oracle labels of policy samples")
        let replayItems = try await CriticData.annotatedQueries(database, split: "train", limit: max(1, Int(Double(fresh.count) * replay / 12) + 1))
        let replayed = Array(corpus.examples(replayItems).prefix(Int(Double(fresh.count) * replay)))
        print("critic refresh: \(current.checkpointID): \(fresh.count) oracle-labelled samples (\(unusable) unusable), \(replayed.count) replayed examples")

        let validation = Array(fresh.suffix(max(1, fresh.count / 10)))
        let trainer = try PRMTrainer(config: config)
        let bar = TrainingProgressBar(label: "critic refresh")
        let result = try trainer.train(train: Array(fresh.dropLast(validation.count)) + replayed, validation: validation,
                                       tokenizer: tokenizer, start: loaded.model,
                                       log: { bar.interrupt(); print("critic refresh: \($0)") }, progress: { bar.update($0) })
        bar.finish()
        let step = current.step + result.steps
        let run = current.runID ?? current.checkpointID
        var metrics = result.metrics
        metrics["refresh_samples"] = Double(fresh.count)
        let bytes = result.model.checkpointBytes(tokenizer: tokenizer, metadata: ["run_id": run, "target": config.target.rawValue,
                                                                                  "parent": current.checkpointID])
        // Two refreshes of one parent (two policy runs side by side) learn from different samples:
        // the weights' fingerprint keeps their ids apart, and the same refresh again keeps its id.
        let checkpointID = "\(run)-refresh-\(step)-\(FNV1a.hex(bytes).prefix(8))"
        let record = CheckpointRecord(checkpointID: checkpointID, modelKind: "prm", runID: run, step: step,
                                      parentCheckpointID: current.checkpointID,
                                      configJSON: TrainCommand.checkpointConfig(config: config, model: result.model.config, metrics: metrics),
                                      safetensors: bytes)
        let finalMetrics = metrics
        try await CriticData.retrying("storing checkpoint \(checkpointID)") {
            try await database.withConnection { connection in
                try CheckpointRepository(connection).save(record)
                try TrainingMetricsRepository(connection).record(runID: run, step: step, metrics: finalMetrics)
            }
        }
        print(String(format: "critic refresh: %d steps in %.0f s; checkpoint %@ (parent %@) stored", result.steps, result.seconds,
                     checkpointID, current.checkpointID))
        if !noAnnounce {
            try await TrainCommand.announce(record, metrics: finalMetrics, database: database, options: options)
            print("critic refresh: announced on \(options.topic(.checkpoints, flag: nil))")
        }
    }

    /// The training configuration stored with a checkpoint (`config.training`).
    static func trainingConfig(fromCheckpointConfig json: String) throws -> PRMTrainingConfig {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let training = object["training"] else {
            throw ValidationError("the checkpoint's config has no training section")
        }
        let data = try JSONSerialization.data(withJSONObject: training)
        return try JSONDecoder().decode(PRMTrainingConfig.self, from: data)
    }
}
