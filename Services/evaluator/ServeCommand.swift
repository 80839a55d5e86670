import ArgumentParser
import Bus
import ChatCompletions
import CriticClient
import DeepPref
import Events
import Foundation
import Logging
import OracleJudge
import PolicyTraining
import ServiceLifecycle
import ServiceRuntime
import Store
import Tensor

/// `evaluator serve`: consumes `training.checkpoints.v1` in a consumer group and evaluates every
/// announced policy checkpoint on the test and perturbed test splits (DESIGN §8), with critiques
/// from the critic replicas over Kafka; stores the results and publishes them on
/// `evaluation.results.v1`. Checkpoint events it cannot evaluate (not stored, bytes failing their
/// SHA-256, not a policy) go to `training.checkpoints.v1.dlq` with the reason.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Evaluate every announced policy checkpoint (the default subcommand).")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Consumer group shared by the replicas.") var group = "evaluator"
    @Option(help: "Name of this replica, for logs and metrics. Default: replica-<pid>") var replicaID: String?
    @Option(help: "Where checkpoints are announced. Env CDRA_TOPIC_CHECKPOINTS. Default: \(TopicSetting.checkpoints.defaultTopic)")
    var checkpointsTopic: String?
    @Option(help: "Where results are published. Env CDRA_TOPIC_EVALUATIONS. Default: \(TopicSetting.evaluations.defaultTopic)")
    var evaluationsTopic: String?
    @Option(help: "Topic the critics consume. Env CDRA_TOPIC_CRITIQUE_REQUESTS. Default: \(TopicSetting.critiqueRequests.defaultTopic)")
    var requestsTopic: String?
    @Option(help: "Partitions of the topics when this service creates them. Env CDRA_TOPIC_PARTITIONS. Default: 4")
    var partitions: Int?

    @Option(help: "Splits to evaluate, comma-separated.") var splits = "test,test_perturbed"
    @Option(help: "Queries per split, the first by query id (default: the whole split).") var limit: Int?
    @Option(help: "Win rates against: warm-start (each checkpoint's own warm start), none, or a checkpoint id.")
    var baseline = "warm-start"
    @Option(help: "Sampling seed of the evaluation responses.") var seed: UInt64 = PolicyEvaluation.Sampling().seed
    @Option(help: "Sampling temperature.") var temperature: Float = PolicyEvaluation.Sampling().temperature
    @Option(help: "Most tokens of a response.") var maxNewTokens = PolicyEvaluation.Sampling().maxNewTokens
    @Flag(help: "No PRM score: do not send the responses to the critics.") var noCritic = false
    @Option(help: "Judge of the eight checks: builtin, or llm (the OpenAI-compatible endpoint of CDRA_LLM_BASE_URL / CDRA_LLM_MODEL).")
    var judge = "builtin"
    @Option(help: "Seconds to wait for the critics' replies before sending the unanswered ones again.") var critiqueTimeout = 120.0
    @Option(help: "Re-sends of unanswered critique requests before the evaluation is retried later.") var resends = 2
    @Option(help: "BLAS threads of this replica.") var threads = 1

    func validate() throws {
        let known = ["train", "validation", "test", "test_perturbed"]
        for s in splitList where !known.contains(s) {
            throw ValidationError("--splits: '\(s)' is not one of \(known.joined(separator: ", "))")
        }
        if splitList.isEmpty { throw ValidationError("--splits names no split") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if temperature <= 0 { throw ValidationError("--temperature must be positive") }
        if maxNewTokens < 8 { throw ValidationError("--max-new-tokens must be at least 8") }
        if critiqueTimeout <= 0 { throw ValidationError("--critique-timeout must be positive") }
        if resends < 0 { throw ValidationError("--resends must not be negative") }
        if !(1...256).contains(threads) { throw ValidationError("--threads must be 1...256") }
        if (partitions ?? 1) <= 0 { throw ValidationError("--partitions must be positive") }
        if baseline.isEmpty { throw ValidationError("--baseline is empty") }
        if !["builtin", "llm"].contains(judge) { throw ValidationError("--judge must be builtin or llm") }
    }

    var splitList: [String] { splits.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    func run() async throws {
        let checkpoints = options.topic(.checkpoints, flag: checkpointsTopic)
        let evaluations = options.topic(.evaluations, flag: evaluationsTopic)
        let requests = options.topic(.critiqueRequests, flag: requestsTopic)
        let critiques = options.topic(.critiques, flag: nil)
        var settings = EvaluatorSettings()
        settings.sampling = PolicyEvaluation.Sampling(seed: seed, temperature: temperature, maxNewTokens: maxNewTokens)
        settings.limit = limit
        settings.baseline = baseline
        settings.critic = !noCritic
        var llmJudge: LLMJudge?
        if judge == "llm" {
            let endpoint: LLMEndpointConfiguration
            do { endpoint = try LLMEndpointConfiguration.fromEnvironment() } catch {
                throw ValidationError("--judge llm: \(error) (set CDRA_LLM_BASE_URL and CDRA_LLM_MODEL; Docs/council-llm.md)")
            }
            let j = LLMJudge(configuration: endpoint)
            llmJudge = j
            // The judge is part of what an evaluation is: another judge gives other evaluation runs.
            settings.judge = j.name
        }
        let judgeCopy = llmJudge
        let settingsCopy = settings
        let splitList = self.splitList, group = self.group, replicaID = self.replicaID
        let timeout = Duration.milliseconds(Int64(critiqueTimeout * 1000)), resends = self.resends
        let pack = try KnowledgePack.builtin()
        BLAS.setThreadCount(threads)

        try await runService("evaluator", options: options, replicaID: replicaID,
                             topics: [checkpoints, evaluations] + (settings.critic ? [requests] : []),
                             partitions: partitions) { context in
            var scorer: KafkaCritiqueScorer?
            if settingsCopy.critic {
                // A reply topic and group of this replica's own: replies go to the replica that asked.
                scorer = try await KafkaCritiqueScorer(
                    bus: context.bus, requestsTopic: requests, replyTopic: "\(critiques).evaluator.\(context.replicaID)",
                    group: "\(group)-replies-\(context.replicaID)", partitions: 1, timeout: timeout, resends: resends,
                    producer: context.producer)
            }
            let evaluator = CheckpointEvaluator(
                settings: settingsCopy, splits: splitList, database: context.database, bus: context.bus,
                evaluationsTopic: evaluations, producer: context.producer, codec: context.codec, scorer: scorer, pack: pack,
                llmJudge: judgeCopy, logger: context.logger)
            context.logger.info("evaluator ready", metadata: [
                "settings": "\(settingsCopy.json)", "splits": "\(splitList.joined(separator: ","))",
                "configuration": "\(settingsCopy.fingerprint)"])
            // One checkpoint per batch: an evaluation takes tens of seconds, and a graceful stop
            // finishes the batch in hand.
            return [
                context.consumer(of: CheckpointPublished.self, topic: checkpoints, group: group, maxBatch: 1) { batch in
                    try await evaluator.handle(batch)
                },
            ]
        }
    }
}
