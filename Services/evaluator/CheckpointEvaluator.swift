import Bus
import Critique
import DeepPref
import Events
import Foundation
import LanguageModel
import Logging
import Metrics
import OracleJudge
import PolicyTraining
import Resilience
import Store

/// The evaluator's business logic, independent of how checkpoint events arrive: for each announced
/// policy checkpoint and each split, sample one response per query with the fixed seed, judge it
/// (the eight checks, the step oracle, hidden-preference recall, the format gate), have the critic
/// replicas score it, compare it with the baseline's response, and store everything in one
/// transaction; then publish `evaluation_published`.
///
/// Exactly once per (checkpoint, split, settings): a run is stored whole or not at all, and an
/// event delivered again (after a crash or a rebalance) finds its runs stored, writes nothing and
/// publishes the stored results again under the same event ids.
final class CheckpointEvaluator: @unchecked Sendable {
    static let consumerName = "evaluator"

    let settings: EvaluatorSettings
    let splits: [String]
    let database: Database
    let bus: any MessageBus
    let evaluationsTopic: String
    let producer: String
    let codec: EventCodec
    let scorer: (any CritiqueScorer)?
    let pack: KnowledgePack
    /// The eight checks by an LLM on an OpenAI-compatible endpoint instead of the built-in judge.
    let llmJudge: LLMJudge?
    let logger: Logger
    /// Examples sampled for runs not stored yet: a retried batch (critics away, database away)
    /// does not sample again.
    private let sampled = Locked<[String: [PolicyEvaluation.Example]]>([:])

    private static let evaluated = Counter(label: "cdra_evaluator_runs_total")
    private static let replayed = Counter(label: "cdra_evaluator_replayed_total")

    init(settings: EvaluatorSettings, splits: [String], database: Database, bus: any MessageBus, evaluationsTopic: String,
         producer: String, codec: EventCodec, scorer: (any CritiqueScorer)?, pack: KnowledgePack, llmJudge: LLMJudge? = nil,
         logger: Logger) {
        self.settings = settings
        self.splits = splits
        self.database = database
        self.bus = bus
        self.evaluationsTopic = evaluationsTopic
        self.producer = producer
        self.codec = codec
        self.scorer = scorer
        self.pack = pack
        self.llmJudge = llmJudge
        self.logger = logger
    }

    /// Handles one batch of checkpoint announcements; PRM checkpoints are not evaluated here.
    func handle(_ batch: [DecodedEvent<CheckpointPublished>]) async throws {
        for event in batch where event.envelope.payload.modelKind == .policy {
            let announced = event.envelope.payload
            // Checked before anything else, so a bad announcement is dead-lettered even when its splits are empty.
            let checkpoint = try await verified(announced.checkpointID, sha256: announced.sha256, event: event.envelope.eventID)
            for split in splits {
                try await evaluate(announced.checkpointID, loaded: checkpoint, split: split, sourceEventID: event.envelope.eventID,
                                   depth: 0)
            }
        }
    }

    // MARK: - One checkpoint on one split

    struct Loaded {
        var record: CheckpointRecord
        var checkpoint: Checkpoint
    }

    /// Evaluates (or finds stored) one checkpoint on one split and publishes the result; the run's
    /// id, or nil when the split has no annotated queries. `loaded` nil: the checkpoint is loaded
    /// (and checked) only if the run is not stored yet.
    @discardableResult
    func evaluate(_ checkpointID: String, loaded: Loaded?, split: String, sourceEventID: UUID?, depth: Int) async throws -> String? {
        let evaluationID = settings.evaluationID(checkpoint: checkpointID, split: split)
        let fingerprint = settings.fingerprint
        if let stored = try await database.withConnection({
            try EvaluationRepository($0).run(checkpointID: checkpointID, split: split, evaluatorConfig: fingerprint)
        }) {
            Self.replayed.increment()
            try await publish(stored.record, metrics: stored.metrics)
            return stored.record.evaluationID
        }

        let items = try await self.items(split: split)
        guard !items.isEmpty else {
            logger.warning("no annotated queries in split \(split): nothing to evaluate", metadata: ["checkpoint": "\(checkpointID)"])
            return nil
        }
        let given = loaded
        let loaded: Loaded
        if let given { loaded = given } else { loaded = try await verified(checkpointID, sha256: nil, event: nil) }
        guard let tokenizer = loaded.checkpoint.tokenizer else {
            throw EvaluationRejected("checkpoint \(checkpointID) carries no tokenizer, so its responses cannot be decoded")
        }
        let format: PolicyFormat
        do { format = try PolicyFormat(tokenizer: tokenizer) } catch {
            throw EvaluationRejected("checkpoint \(checkpointID) is not a policy in the response format: \(error)")
        }
        let evaluation = PolicyEvaluation(format: format, pack: pack)
        let policy = loaded.checkpoint.model
        let fitting = evaluation.fitting(items, contextLength: policy.config.contextLength)

        // The baseline first (it is evaluated on the same queries with the same settings).
        let baselineID = try baseline(of: loaded.record)
        var baselineScores: [String: Double]?
        if let baselineID, baselineID != checkpointID, depth < 2 {
            if let run = try await evaluate(baselineID, loaded: nil, split: split, sourceEventID: sourceEventID, depth: depth + 1) {
                baselineScores = try await database.withConnection { try EvaluationRepository($0).oracleScores(evaluationID: run) }
            }
        }

        let examples: [PolicyEvaluation.Example]
        if let cached = sampled.current[evaluationID] {
            examples = cached
        } else {
            let started = ContinuousClock.now
            var last = started
            var sampledExamples = try evaluation.run(policy: policy, items: fitting, sampling: settings.sampling) { done, total in
                let now = ContinuousClock.now
                if now - last > .seconds(5) || done == total {
                    last = now
                    logger.info("sampling", metadata: ["checkpoint": "\(checkpointID)", "split": "\(split)",
                                                       "responses": "\(done)/\(total)",
                                                       "seconds": "\((now - started).components.seconds)"])
                }
            }
            if let llmJudge {
                try await judge(&sampledExamples, with: llmJudge, checkpointID: checkpointID, split: split)
            }
            examples = sampledExamples
            sampled.withLock { $0[evaluationID] = examples }
        }

        // The critic's scores, for the responses that passed the format gate.
        var prmScores: [Double?]?
        var requestIDs: [String?] = Array(repeating: nil, count: examples.count)
        if let scorer {
            var requests: [CritiqueRequested] = []
            for (i, e) in examples.enumerated() where e.formatValid {
                let id = "\(evaluationID)/\(e.item.query.queryID)#\(FNV1a.hex(e.text.utf8))"
                requestIDs[i] = id
                requests.append(CritiqueRequested(
                    requestID: id, queryID: e.item.query.queryID, profile: e.item.query.profile, question: e.item.query.question,
                    responseID: Self.responseID(evaluationID, e), steps: e.steps, answer: e.answer,
                    policyCheckpointID: checkpointID, criticCheckpointID: nil))
            }
            let report: ScoringReport
            do {
                report = requests.isEmpty ? ScoringReport(scores: [:]) : try await scorer.score(requests)
            } catch let PolicyTrainingError.critiqueTimeout(message) {
                throw EvaluationRetry("checkpoint \(checkpointID), split \(split): \(message)")
            }
            var failed = 0
            prmScores = requestIDs.map { id in
                guard let id else { return nil }
                if case let .scored(final, _, _)? = report.scores[id] { return final }
                failed += 1
                return nil
            }
            if failed > 0 {
                logger.warning("critic replies failed or malformed; those responses have no PRM score",
                               metadata: ["checkpoint": "\(checkpointID)", "split": "\(split)", "responses": "\(failed)"])
            }
        }

        let wins = baselineScores.map { scores in
            examples.map { e in scores[e.item.query.queryID].map { PolicyEvaluation.win(e, over: $0) } }
        }
        let measures = PolicyEvaluation.measures(examples, prmScores: prmScores, wins: wins?.compactMap { $0 })
        var byTopic: [String: [String: Double]] = [:]
        for (topic, indices) in Dictionary(grouping: examples.indices, by: { examples[$0].topic }) {
            var m = PolicyEvaluation.measures(indices.map { examples[$0] }, prmScores: prmScores.map { p in indices.map { p[$0] } },
                                              wins: wins.map { w in indices.compactMap { w[$0] } })
            m["prm_scored"] = nil
            byTopic[topic] = m
        }

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let responses = examples.map { e in
            ResponseRecord(responseID: Self.responseID(evaluationID, e), queryID: e.item.query.queryID, modelCheckpoint: checkpointID,
                           origin: "policy", text: e.text,
                           steps: e.steps.isEmpty && e.answer.isEmpty ? [] : ResponseLayout.lines(steps: e.steps, answer: e.answer))
        }
        let rows = try examples.enumerated().map { i, e in
            EvaluationExampleRecord(
                queryID: e.item.query.queryID, responseID: Self.responseID(evaluationID, e), topic: e.topic,
                formatValid: e.formatValid, verdictJSON: String(decoding: try encoder.encode(e.verdict), as: UTF8.self),
                oracleScore: e.oracleScore, hiddenRecall: e.hiddenRecall, prmScore: prmScores?[i] ?? nil,
                critiqueRequestID: prmScores?[i] == nil ? nil : requestIDs[i], win: wins?[i] ?? nil)
        }
        let run = EvaluationRunRecord(
            evaluationID: evaluationID, checkpointID: checkpointID, split: split, evaluatorConfig: fingerprint,
            configJSON: settings.json, examples: examples.count,
            baselineCheckpointID: baselineScores == nil ? nil : baselineID, sourceEventID: sourceEventID)
        let topicMetrics = byTopic
        let written = try await database.transaction { connection in
            try ResponseRepository(connection).store(responses)
            return try EvaluationRepository(connection).store(run, metrics: measures, topicMetrics: topicMetrics, examples: rows)
        }
        sampled.withLock { $0[evaluationID] = nil }
        guard written else {
            // Stored by another replica meanwhile: publish what is stored, as a replay does.
            return try await evaluate(checkpointID, loaded: loaded, split: split, sourceEventID: sourceEventID, depth: depth)
        }
        Self.evaluated.increment()
        logger.info("evaluated", metadata: [
            "checkpoint": "\(checkpointID)", "split": "\(split)", "examples": "\(examples.count)",
            "acc_pf": "\(Self.format(measures["acc_pf"]))", "m_dm": "\(Self.format(measures["m_dm"]))",
            "prm_score": "\(Self.format(measures["prm_score"]))", "win_rate": "\(Self.format(measures["win_rate"]))"])
        try await publish(run, metrics: measures)
        return evaluationID
    }

    // MARK: - Helpers

    /// Replaces the built-in judge's verdicts with the LLM judge's. A response the judge cannot
    /// answer for (endpoint away, output still malformed after the client's re-asks) makes the whole
    /// run wait and retry: a run's measures come from one judge, never from a mix.
    func judge(_ examples: inout [PolicyEvaluation.Example], with judge: LLMJudge, checkpointID: String, split: String) async throws {
        for i in examples.indices {
            let e = examples[i]
            switch await judge.judgeReportingFailure(query: e.item.query, annotation: e.item.annotation, response: e.answer) {
            case .success(let verdict):
                examples[i].verdict = verdict
            case .failure(let failure):
                throw EvaluationRetry("checkpoint \(checkpointID), split \(split): the LLM judge (\(judge.name)) failed on query "
                                      + "\(e.item.query.queryID) after \(failure.attempts) attempts: \(failure.code): \(failure.reason)")
            }
            if (i + 1) % 16 == 0 || i + 1 == examples.count {
                logger.info("judged", metadata: ["checkpoint": "\(checkpointID)", "split": "\(split)", "judge": "\(judge.name)",
                                                 "responses": "\(i + 1)/\(examples.count)"])
            }
        }
    }

    /// The stored checkpoint, checked: present, a policy, its bytes matching the announced SHA-256
    /// (as the server computes it now), and loadable. Anything else is rejected (dead-lettered).
    func verified(_ checkpointID: String, sha256: String?, event: UUID?) async throws -> Loaded {
        let what = event.map { "checkpoint \(checkpointID) (announced by event \($0))" } ?? "baseline checkpoint \(checkpointID)"
        let (actual, record) = try await database.withConnection { c -> (String?, CheckpointRecord?) in
            let repository = CheckpointRepository(c)
            guard let actual = try repository.computedSHA256(of: checkpointID) else { return (nil, nil) }
            return (actual, try repository.load(checkpointID))
        }
        guard let actual, let record else { throw EvaluationRejected("\(what) is not in the database") }
        guard record.modelKind == "policy" else {
            throw EvaluationRejected("\(what) is a \(record.modelKind) checkpoint in the database, not a policy")
        }
        if let sha256, sha256 != actual {
            throw EvaluationRejected("\(what): its stored bytes have SHA-256 \(actual), the announcement says \(sha256)")
        }
        do {
            return Loaded(record: record, checkpoint: try Checkpoint(bytes: record.safetensors))
        } catch {
            throw EvaluationRejected("\(what) cannot be loaded: \(error)")
        }
    }

    /// The checkpoint win rates are measured against, per the settings; nil for none.
    func baseline(of record: CheckpointRecord) throws -> String? {
        switch settings.baseline {
        case "none": return nil
        case "warm-start":
            let config = (try? JSONSerialization.jsonObject(with: Data(record.configJSON.utf8))) as? [String: Any]
            return config?["warm_start"] as? String
        default: return settings.baseline
        }
    }

    /// The split's annotated queries, the first `limit` by query id.
    func items(split: String) async throws -> [AnnotatedQuery] {
        let all = try await database.withConnection { connection in
            try AnnotationRepository(connection).annotatedQueries(backend: "builtin", split: split)
        }.sorted { $0.query.queryID < $1.query.queryID }
        return settings.limit.map { Array(all.prefix($0)) } ?? all
    }

    func publish(_ run: EvaluationRunRecord, metrics: [String: Double]) async throws {
        let payload = EvaluationPublished(evaluationID: run.evaluationID, checkpointID: run.checkpointID, split: run.split,
                                          examples: run.examples, metrics: metrics, baselineCheckpointID: run.baselineCheckpointID)
        let envelope = EventEnvelope(payload: payload, producer: producer, correlationID: run.checkpointID,
                                     eventID: DerivedEventID.make(fromName: run.evaluationID, purpose: .evaluation))
        try await bus.send([OutgoingMessage(topic: evaluationsTopic, key: Array(run.checkpointID.utf8),
                                            value: try codec.encode(envelope))])
    }

    static func responseID(_ evaluationID: String, _ example: PolicyEvaluation.Example) -> String {
        "\(evaluationID)/\(example.item.query.queryID)"
    }

    static func format(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? "-"
    }
}

/// A checkpoint event that cannot be evaluated, whatever the retries: dead-lettered with this reason.
struct EvaluationRejected: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A failure that waiting can fix (the critics away): the batch is retried with backoff.
struct EvaluationRetry: RetriableError, CustomStringConvertible {
    var description: String
    var isRetriable: Bool { true }
    init(_ description: String) { self.description = description }
}
