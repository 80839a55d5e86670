import ArgumentParser
import Bus
import Critique
import CriticClient
import DeepPref
import Events
import Foundation
import LanguageModel
import Logging
import PolicyOptimization
import PolicyTraining
import ServiceRuntime
import Store
import Tensor

/// `policy-trainer train`: the online RL loop. Prompts from the train split, G samples each, critiques
/// from the critic replicas over Kafka, advantages, PPO-clip with a KL term, samples to `responses`,
/// per-step metrics to `training_metrics`, a checkpoint with the optimizer and trainer state every K
/// steps (announced on `training.checkpoints.v1`). Started again with the same run id, it resumes
/// from the run's last checkpoint.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the policy online with GRPO or CDPA, critiques from the critic replicas over Kafka.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var policy: PolicyOptions

    @Option(help: "Run id (default: <estimator>-<reward>-s<seed>). The same id resumes the run.") var runID: String?
    @Option(help: "Who scores: kafka (the critic replicas) or oracle (the step oracle in this process, no broker).")
    var scorer: ScorerKind = .kafka
    @Option(help: "Topic the critics consume. Env CDRA_TOPIC_CRITIQUE_REQUESTS.") var requestsTopic: String?
    @Option(help: "Seconds to wait for a batch's replies before sending the unanswered ones again.") var critiqueTimeout = 60.0
    @Option(help: "Re-sends of unanswered requests before the step fails.") var resends = 2
    @Option(help: "BLAS threads (1: runs side by side scale better).") var threads = 1
    @Option(help: "The critic executable for PRM refreshes (default: beside this one).") var criticExecutable: String?
    @Option(help: "Policy samples a PRM refresh learns from.") var refreshSamples = 512
    @Option(help: "PRM checkpoint the critics score this run with from its first step (default: whichever each replica holds). Refreshes fine-tune the run's current PRM.")
    var criticCheckpoint: String?
    @Flag(help: "Delete this run's checkpoints, states, metrics and samples and start over.") var force = false
    @Flag(help: "Do not announce checkpoints on Kafka.") var noAnnounce = false

    enum ScorerKind: String, ExpressibleByArgument { case kafka, oracle }

    func run() async throws {
        let setup = try await CommandSetup(service: "policy-trainer", options: options, policy: policy, threads: threads)
        let config = setup.config, database = setup.database
        defer { database.shutdown() }
        let run = runID ?? "\(config.estimator)-\(config.reward.rawValue)-s\(config.seed)"
        guard run.range(of: #"^[A-Za-z0-9._-]{1,100}$"#, options: .regularExpression) != nil else {
            throw ValidationError("--run-id may hold only letters, digits, '.', '_' and '-' (at most 100)")
        }
        let runner = try await PolicyRun.prepare(run: run, config: config, options: options, database: database,
                                                 force: force, announce: !noAnnounce, criticCheckpoint: criticCheckpoint)
        let scorer: any CritiqueScorer
        var kafka: KafkaCritiqueScorer?
        switch self.scorer {
        case .oracle:
            scorer = BackendScorer(OracleCriticBackend.make(database: database))
        case .kafka:
            let bus = try KafkaBus(configuration: options.kafkaConfiguration(), logger: Logger(label: "policy-trainer"))
            let k = try await KafkaCritiqueScorer(
                bus: bus, requestsTopic: options.topic(.critiqueRequests, flag: requestsTopic),
                replyTopic: options.topic(.critiques, flag: nil) + ".policy." + run,
                group: "policy-trainer-\(run)-\(UUID().uuidString.prefix(8))", partitions: options.topicPartitions,
                timeout: .milliseconds(Int64(critiqueTimeout * 1000)), resends: resends)
            kafka = k
            scorer = k
        }
        defer { if let kafka { Task { await kafka.close() } } }
        let refresher = PRMRefresher(executable: criticExecutable.map { URL(fileURLWithPath: $0) } ?? Self.sibling("critic"),
                                     samples: refreshSamples, database: database)
        do {
            try await runner.train(scorer: scorer, refresher: refresher)
        } catch let PolicyTrainingError.stopped(reason) {
            // Stopped by the guard: its checkpoint is stored; exit 3 tells it from a failure.
            print("policy-trainer: \(reason)")
            throw ExitCode(Self.stoppedByGuard)
        }
    }

    /// The exit status of a run the reward-hacking guard stopped.
    static let stoppedByGuard: Int32 = 3

    /// An executable in this one's directory.
    static func sibling(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(name)
    }
}

/// One policy run from its warm start or its last checkpoint to its last step.
final class PolicyRun {
    let run: String
    let config: PolicyTrainingConfig
    let trainer: PolicyRLTrainer
    let database: Database
    let options: ServiceOptions
    let announce: Bool

    init(run: String, config: PolicyTrainingConfig, trainer: PolicyRLTrainer, database: Database,
         options: ServiceOptions, announce: Bool) {
        self.run = run
        self.config = config
        self.trainer = trainer
        self.database = database
        self.options = options
        self.announce = announce
    }

    static func log(_ line: String) { print("policy-trainer: \(line)") }

    /// Loads the data and the warm start, then the run's last checkpoint when it has one.
    static func prepare(run: String, config: PolicyTrainingConfig, options: ServiceOptions, database: Database,
                        force: Bool, announce: Bool, criticCheckpoint: String? = nil) async throws -> PolicyRun {
        if let criticCheckpoint {
            let kind = try await database.withConnection { try CheckpointRepository($0).modelKind(of: criticCheckpoint) }
            guard kind == "prm" else {
                throw PolicyTrainingError.noData("--critic-checkpoint \(criticCheckpoint) is \(kind.map { "a \($0) checkpoint" } ?? "not in the database"), not a stored PRM")
            }
        }
        let train = try await PolicyData.items(database, split: "train")
        let validation = try await PolicyData.items(database, split: "validation")
        guard !train.isEmpty else {
            throw PolicyTrainingError.noData("no annotated train-split queries in PostgreSQL: build DeepPref and annotate it first (`make run` does both)")
        }
        let warm = try await PolicyData.warmStart(config, train: train, validation: Array(validation.prefix(100)),
                                                  database: database, options: options, announce: announce, log: log)
        guard let tokenizer = warm.checkpoint.tokenizer else {
            throw PolicyTrainingError.brokenCheckpoint("the warm start \(warm.id) carries no tokenizer")
        }
        if force {
            try await retrying("deleting run \(run)", log: log) {
                try await database.withConnection { try TrainerStateRepository($0).deleteRun(run) }
            }
        }
        let pack = try KnowledgePack.builtin()
        let stored = try await database.withConnection { try TrainerStateRepository($0).latest(runID: run) }
        let policy: Transformer, optimizer: AdamW, state: TrainerState
        if let stored {
            guard let record = try await database.withConnection({ try CheckpointRepository($0).load(stored.checkpointID) }) else {
                throw PolicyTrainingError.brokenCheckpoint("run \(run): the state of step \(stored.step) names checkpoint \(stored.checkpointID), which is not stored")
            }
            if let storedConfig = Self.trainingConfig(record.configJSON), storedConfig != config {
                throw ValidationError("run \(run) was started with another configuration (stored with checkpoint \(record.checkpointID)); use a new --run-id, or --force to start it over")
            }
            do {
                policy = try Checkpoint(bytes: record.safetensors).model
                optimizer = policy.makeOptimizer()
                try OptimizerState.restore(optimizer, from: stored.optimizer)
                state = try JSONDecoder().decode(TrainerState.self, from: Data(stored.stateJSON.utf8))
            } catch {
                throw PolicyTrainingError.brokenCheckpoint("run \(run): checkpoint \(record.checkpointID) (step \(stored.step)) cannot be resumed: \(error). Nothing was loaded; start the run over with --force, or delete that checkpoint to resume from an earlier one")
            }
            guard state.step == stored.step, state.warmStartID == warm.id,
                  state.nextSamplingSeed == TrainerState.samplingSeed(seed: config.seed, step: state.step + 1) else {
                throw PolicyTrainingError.brokenCheckpoint("run \(run): the state stored with \(record.checkpointID) does not belong to this run's step \(stored.step), warm start and seed")
            }
            if let reason = state.stopped {
                throw PolicyTrainingError.stopped("run \(run) stopped at step \(state.step): \(reason) (stored with \(record.checkpointID); --force starts it over)")
            }
            log("run \(run): resuming from \(record.checkpointID) (step \(state.step) of \(config.steps))")
        } else {
            policy = warm.checkpoint.model.copy()
            optimizer = policy.makeOptimizer()
            var fresh = TrainerState(hackingGuard: HackingGuard(config.hackingGuard), warmStartID: warm.id, seed: config.seed)
            fresh.criticCheckpointID = criticCheckpoint
            state = fresh
            log("run \(run): starting from warm start \(warm.id) (\(config.steps) steps, \(config.estimator), \(config.reward.rawValue) reward)")
        }
        let trainer = try PolicyRLTrainer(config: config, runID: run, tokenizer: tokenizer, policy: policy,
                                          reference: warm.checkpoint.model, optimizer: optimizer, state: state,
                                          trainItems: train, evalItems: validation, pack: pack)
        return PolicyRun(run: run, config: config, trainer: trainer, database: database,
                         options: options, announce: announce)
    }

    static func trainingConfig(_ json: String) -> PolicyTrainingConfig? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let training = object["training"], let data = try? JSONSerialization.data(withJSONObject: training) else { return nil }
        return try? JSONDecoder().decode(PolicyTrainingConfig.self, from: data)
    }

    var algorithm: TrainingAlgorithm { config.estimator == "grpo" ? .grpo : .cdpa }

    /// Steps until the configured count, storing every step and checkpointing every K.
    func train(scorer: any CritiqueScorer, refresher: PRMRefresher?) async throws {
        let bar = TrainingProgressBar(label: "policy \(run)")
        let started = Date()
        let first = trainer.state.step
        if first == 0 && config.evalEvery > 0 {
            let eval = try trainer.evaluate()
            try await store(step: 0, metrics: eval, samples: [])
            Self.log(String(format: "step 0 (warm start): oracle score %.3f, acc_pf %.3f, m_dm %.3f, hidden recall %.3f, format %.3f",
                            eval["eval_oracle_score"] ?? .nan, eval["eval_acc_pf"] ?? .nan, eval["eval_m_dm"] ?? .nan,
                            eval["eval_hidden_recall"] ?? .nan, eval["eval_format_valid"] ?? .nan))
        }
        while trainer.state.step < config.steps {
            let result = try await trainer.step(scorer: scorer, log: { bar.interrupt(); Self.log($0) })
            var metrics = result.metrics
            if config.evalEvery > 0 && (result.step % config.evalEvery == 0 || result.step == config.steps) {
                metrics.merge(try trainer.evaluate()) { $1 }
            }
            try await store(step: result.step, metrics: metrics, samples: result.samples)
            let done = result.step - first
            let elapsed = Date().timeIntervalSince(started)
            bar.update(step: result.step, total: config.steps,
                       figures: String(format: "reward %.3f [%.2f, %.2f] | zero-adv %.2f | kl %.4f | gap %@ | %.1f s/step",
                                       metrics["reward_mean"] ?? 0, metrics["reward_min"] ?? 0, metrics["reward_max"] ?? 0,
                                       metrics["zero_advantage_group_fraction"] ?? 0, metrics["kl"] ?? 0,
                                       metrics["prm_oracle_gap"].map { String(format: "%.3f", $0) } ?? "-",
                                       metrics["step_s"] ?? 0),
                       etaSeconds: elapsed / Double(done) * Double(config.steps - result.step))
            if let eval = metrics["eval_oracle_score"] {
                bar.interrupt()
                Self.log(String(format: "step %d: eval oracle score %.3f, acc_pf %.3f, m_dm %.3f, hidden recall %.3f, format %.3f",
                                result.step, eval, metrics["eval_acc_pf"] ?? .nan, metrics["eval_m_dm"] ?? .nan,
                                metrics["eval_hidden_recall"] ?? .nan, metrics["eval_format_valid"] ?? .nan))
            }
            switch result.decision {
            case .proceed:
                if result.step % config.checkpointEvery == 0 || result.step == config.steps {
                    try await checkpoint(metrics: metrics)
                }
            case let .refresh(number):
                bar.interrupt()
                guard let refresher else { throw PolicyTrainingError.stopped("the guard asked for PRM refresh \(number), and this run has no refresh path") }
                let id = try await refresher.refresh(number: number, from: trainer.state.criticCheckpointID, log: Self.log)
                trainer.useCritic(checkpointID: id)
                try await store(step: result.step, metrics: ["refresh_number": Double(number)], samples: [])
                try await checkpoint(metrics: metrics)
                Self.log("refresh \(number): critiques now come from \(id)")
            case let .stop(reason):
                bar.interrupt()
                trainer.markStopped(reason)
                try await checkpoint(metrics: metrics)
                throw PolicyTrainingError.stopped("run \(run) stopped at step \(result.step): \(reason)")
            }
        }
        bar.finish()
        Self.log("run \(run): done, \(config.steps) steps; last checkpoint \(trainer.checkpointID(step: trainer.state.step))")
    }

    /// One step's samples and metrics, in one transaction (retried when the database is away).
    func store(step: Int, metrics: [String: Double], samples: [PolicyRLTrainer.Sample]) async throws {
        let checkpoint = trainer.checkpointID(step: max(0, step - 1))
        let records = samples.map { s in
            ResponseRecord(responseID: s.responseID, queryID: s.queryID, modelCheckpoint: checkpoint, origin: s.origin,
                           parentResponseID: s.parentResponseID, text: s.text, steps: s.steps.isEmpty && s.answer.isEmpty ? [] : ResponseLayout.lines(steps: s.steps, answer: s.answer))
        }
        let run = self.run
        try await retrying("storing step \(step) of \(run)", log: Self.log) {
            try await database.transaction { connection in
                try ResponseRepository(connection).store(records)
                try TrainingMetricsRepository(connection).record(runID: run, step: step, metrics: metrics)
            }
        }
    }

    /// Stores the current weights, optimizer moments and trainer state together, then announces them.
    func checkpoint(metrics: [String: Double]) async throws {
        let step = trainer.state.step
        let id = trainer.checkpointID(step: step)
        let bytes = trainer.policy.checkpointBytes(tokenizer: trainer.format.tokenizer, metadata: ["run_id": run, "step": "\(step)",
                                                                                     "algorithm": algorithm.rawValue])
        let record = CheckpointRecord(checkpointID: id, modelKind: "policy", runID: run, step: step,
                                      parentCheckpointID: trainer.state.warmStartID,
                                      configJSON: PolicyData.checkpointConfig(config, algorithm: algorithm,
                                                                              warmStart: trainer.state.warmStartID,
                                                                              model: trainer.policy.config, metrics: metrics),
                                      safetensors: bytes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let state = TrainerStateRecord(checkpointID: id, runID: run, step: step,
                                       stateJSON: String(decoding: try encoder.encode(trainer.state), as: UTF8.self),
                                       optimizer: OptimizerState.bytes(trainer.optimizer))
        try await retrying("storing checkpoint \(id)", log: Self.log) {
            try await database.withConnection { try TrainerStateRepository($0).save(checkpoint: record, state: state) }
        }
        if announce {
            try await retrying("announcing checkpoint \(id)", log: Self.log) {
                try await CheckpointAnnouncement.announce(record, kind: .policy, algorithm: algorithm,
                                                          metrics: metrics.filter { !PolicyRLTrainer.timingMetrics.contains($0.key) },
                                                          database: database, options: options, producer: "policy-trainer")
            }
        }
    }
}
