import DeepPref
import Events
import Foundation
import LanguageModel
import PolicyTraining
import ServiceRuntime
import Store

/// Loading the prompts and the warm start, and storing and loading checkpoints, shared by the
/// commands.
enum PolicyData {
    /// The council backend whose annotations give the prompts, references and oracle labels.
    static let annotationBackend = "builtin"

    static func items(_ database: Database, split: String, limit: Int? = nil) async throws -> [AnnotatedQuery] {
        try await database.withConnection { connection in
            try AnnotationRepository(connection).annotatedQueries(backend: annotationBackend, split: split, limit: limit)
        }
    }

    /// The warm start's checkpoint id: one per warm-start configuration and train split (the
    /// content of every prompt and reference, so a benchmark rebuilt with another seed, or
    /// annotated again by a changed council, gets its own), so every method and seed of a study
    /// starts from the same one.
    static func warmStartID(_ config: PolicyTrainingConfig, train: [AnnotatedQuery]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = String(decoding: try! encoder.encode(config.warmStart), as: UTF8.self)
        text += "|\(train.count)|" + FNV1a.hex(PolicyFormat.tokenizerCorpus(train).utf8)
        return "policy-sft-" + FNV1a.hex(text.utf8)
    }

    /// The stored config JSON of a policy checkpoint.
    static func checkpointConfig(_ config: PolicyTrainingConfig, algorithm: TrainingAlgorithm, warmStart: String?,
                                 model: TransformerConfig, metrics: [String: Double]) -> String {
        var object: [String: Any] = [
            "algorithm": algorithm.rawValue, "estimator": config.estimator, "reward": config.reward.rawValue,
            "model": (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(model))) ?? [:],
            "training": (try? JSONSerialization.jsonObject(with: Data(config.json.utf8))) ?? [:],
            "metrics": metrics.filter { $0.value.isFinite },
        ]
        if let warmStart { object["warm_start"] = warmStart }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The warm start of `config`: loaded when stored, else trained and stored (and announced).
    static func warmStart(_ config: PolicyTrainingConfig, train: [AnnotatedQuery], validation: [AnnotatedQuery],
                          database: Database, options: ServiceOptions, announce: Bool,
                          log: @escaping (String) -> Void) async throws -> (id: String, checkpoint: Checkpoint, trained: Bool) {
        let id = warmStartID(config, train: train)
        if let stored = try await database.withConnection({ try CheckpointRepository($0).load(id) }) {
            do {
                return (id, try Checkpoint(bytes: stored.safetensors), false)
            } catch {
                throw PolicyTrainingError.brokenCheckpoint("the stored warm start \(id) cannot be loaded (\(error)); delete it to train it again: DELETE FROM checkpoints WHERE checkpoint_id = '\(id)'")
            }
        }
        log("warm start \(id): training (SFT on \(train.count) council reference chains)")
        let bar = TrainingProgressBar(label: "policy sft")
        let result = try PolicySFT.train(train: train, validation: validation, config: config,
                                         log: { bar.interrupt(); log($0) }, progress: { p in
            bar.update(step: p.step, total: p.totalSteps, figures: String(format: "loss %.4f | %.0f tok/s", p.loss, p.tokensPerSecond),
                       etaSeconds: p.etaSeconds)
        })
        bar.finish()
        let checkpoint = Checkpoint(model: result.model, tokenizer: result.tokenizer,
                                    metadata: ["run_id": id, "algorithm": TrainingAlgorithm.sft.rawValue])
        let record = CheckpointRecord(checkpointID: id, modelKind: "policy", runID: id, step: result.steps,
                                      configJSON: checkpointConfig(config, algorithm: .sft, warmStart: nil,
                                                                   model: result.model.config, metrics: result.metrics),
                                      safetensors: checkpoint.bytes())
        let metrics = result.metrics
        try await retrying("storing the warm start \(id)", log: log) {
            try await database.withConnection { connection in
                try CheckpointRepository(connection).save(record)
                try TrainingMetricsRepository(connection).record(runID: id, step: result.steps, metrics: metrics)
            }
        }
        log(String(format: "warm start %@: %d steps in %.0f s, validation loss %.4f; stored", id, result.steps, result.seconds,
                   metrics["sft_validation_loss"] ?? .nan))
        if announce {
            try await CheckpointAnnouncement.announce(record, kind: .policy, algorithm: .sft, metrics: metrics, database: database,
                                                      options: options, producer: "policy-trainer")
        }
        return (id, checkpoint, true)
    }
}
