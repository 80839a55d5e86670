import ArgumentParser
import Critique
import DeepPref
import Events
import Foundation
import OracleJudge
import RewardModel
import ServiceRuntime
import Store
import Tensor

/// `critic evaluate`: how a reward-model checkpoint agrees with the step oracle on the held-out
/// test split (references, mixed and garbled chains) and on the garbled probe set.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a PRM or scalar checkpoint against the step oracle on the test split.",
        discussion: """
            Prints pairwise accuracy (aligned over superficial, aligned over mixed where the oracle \
            ranks them so), step-score sign agreement (all and references), Spearman of final scores, \
            parse failures, and final-score sign agreement on the garbled probe set (kinds never used in \
            training), each also with the format gate in front. Writes the figures as JSON with --json.
            """)

    @OptionGroup var options: ServiceOptions

    @Option(help: "Checkpoint id (default: the newest of --target).") var checkpoint: String?
    @Option(help: "Which model when no checkpoint is named: critique or scalar.") var target: PRMTarget = .critique
    @Option(help: "Split to evaluate on.") var split = "test"
    @Option(help: "At most this many queries of the split.") var limit: Int?
    @Option(help: "Requests per generation batch.") var batchSize = 16
    @Option(help: "BLAS threads.") var threads = 2
    @Option(help: "Write the figures to this JSON file.") var json: String?
    @Option(help: "Write one JSON line per critiqued example (origin, oracle and model scores, outcome, text) to this file.")
    var dump: String?

    func run() async throws {
        CriticData.lineBufferedOutput()
        ServiceLogging.bootstrap(service: "critic-evaluate", options: options)
        BLAS.setThreadCount(threads)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "critic-evaluate"))
        defer { database.shutdown() }
        let record = try await CriticData.checkpoint(checkpoint, target: target, database: database)
        // Generated final scores; the aggregated ones are computed from the same generations.
        let critic = try PRMCritic.load(checkpointID: record.checkpointID, safetensors: record.safetensors,
                                        configJSON: record.configJSON, finalScore: .generated)
        let pack = try KnowledgePack.builtin()
        let items = try await CriticData.annotatedQueries(database, split: split, limit: limit)
        let corpus = PRMCorpus(pack: pack)
        let examples = corpus.examples(items)
        let probes = corpus.probes(items)
        print("critic evaluate: \(record.checkpointID) (\(critic.name)) on \(items.count) \(split) queries: "
              + "\(examples.count) examples, \(probes.count) garbled probes")

        let started = Date()
        let outcomes = try critique(examples + probes, critic: critic, label: "critic evaluate")
        let seconds = Date().timeIntervalSince(started)
        let main = Array(outcomes.prefix(examples.count)), probeOutcomes = Array(outcomes.suffix(probes.count))
        let gate = FormatGate(pack: pack)
        let report = PRMEvaluation(examples: examples, outcomes: main)
        let gated = PRMEvaluation(examples: examples, outcomes: Self.gated(examples, main, gate))
        let probeReport = PRMEvaluation(examples: probes, outcomes: probeOutcomes)
        let probeGated = PRMEvaluation(examples: probes, outcomes: Self.gated(probes, probeOutcomes, gate))

        var figures: [String: Double] = [:]
        for (k, v) in report.figures { figures[k] = v }
        for (k, v) in gated.figures { figures["gated_" + k] = v }
        figures["probe_final_sign_agreement"] = probeReport.finalSignAgreement
        figures["probe_gated_final_sign_agreement"] = probeGated.finalSignAgreement
        // The serving default: the final score aggregated from the model's verdicts.
        let aggregatedReport = critic.format.target == .critique
            ? PRMEvaluation(examples: examples, outcomes: Self.aggregated(main)) : nil
        let aggregatedProbes = critic.format.target == .critique
            ? PRMEvaluation(examples: probes, outcomes: Self.aggregated(probeOutcomes)) : nil
        if let aggregatedReport, let aggregatedProbes {
            for (k, v) in aggregatedReport.figures { figures["aggregated_" + k] = v }
            figures["aggregated_probe_final_sign_agreement"] = aggregatedProbes.finalSignAgreement
            let gatedAggregated = PRMEvaluation(examples: examples, outcomes: Self.gated(examples, Self.aggregated(main), gate))
            figures["aggregated_gated_spearman"] = gatedAggregated.spearman
        }
        figures["probe_count"] = Double(probes.count)
        figures["critiques_per_s"] = Double(outcomes.count) / seconds
        let rows: [(String, Double?)] = [
            ("pairwise aligned > superficial", report.pairwiseAlignedOverSuperficial),
            ("pairwise aligned > mixed (oracle-ranked pairs)", report.pairwiseAlignedOverMixed),
            ("step sign agreement, all", report.stepSignAgreement),
            ("step sign agreement, references", report.stepSignAgreementReferences),
            ("Spearman of final scores", report.spearman),
            ("parse failures", report.parseFailureRate),
            ("failed (over context)", report.failureRate),
            ("garbled probe final-sign agreement", probeReport.finalSignAgreement),
            ("garbled probe final-sign agreement, gated", probeGated.finalSignAgreement),
            ("Spearman, gated", gated.spearman),
        ]
        let aggregatedRows: [String: Double?] = [
            "pairwise aligned > superficial": aggregatedReport?.pairwiseAlignedOverSuperficial,
            "pairwise aligned > mixed (oracle-ranked pairs)": aggregatedReport?.pairwiseAlignedOverMixed,
            "Spearman of final scores": aggregatedReport?.spearman,
            "garbled probe final-sign agreement": aggregatedProbes?.finalSignAgreement,
        ]
        func column(_ s: String, _ width: Int) -> String { s.padding(toLength: max(width, s.count), withPad: " ", startingAt: 0) }
        print("  " + column("", 48) + " " + column("generated", 10) + " " + (aggregatedReport == nil ? "" : "aggregated final score"))
        for (name, value) in rows {
            let other = aggregatedRows[name].flatMap { $0 }.map { String(format: "%.4f", $0) } ?? ""
            print("  " + column(name, 48) + " " + column(value.map { String(format: "%.4f", $0) } ?? "-", 10) + " " + other)
        }
        print(String(format: "critic evaluate: %d critiques in %.1f s (%.1f/s), %.2f generations each",
                     outcomes.count, seconds, Double(outcomes.count) / seconds, report.meanAttempts))
        if let dump {
            try Self.writeDump(examples + probes, outcomes, to: dump)
            print("critic evaluate: \(outcomes.count) critiques written to \(dump)")
        }
        if let json {
            var object: [String: Any] = ["checkpoint_id": record.checkpointID, "backend": critic.name, "split": split]
            for (k, v) in figures where v.isFinite { object[k] = v }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            let url = URL(fileURLWithPath: json)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            print("critic evaluate: figures written to \(json)")
        }
    }

    /// Critiques in batches of similar prompt length, with a progress line.
    func critique(_ examples: [PRMExample], critic: PRMCritic, label: String) throws -> [CritiqueOutcome] {
        let requests = examples.map(\.request)
        let order = requests.indices.sorted { requests[$0].answer.count + requests[$0].steps.joined().count
                                              < requests[$1].answer.count + requests[$1].steps.joined().count }
        var out = [CritiqueOutcome?](repeating: nil, count: requests.count)
        let start = Date()
        var done = 0, lastPrint = Date.distantPast
        for chunk in stride(from: 0, to: order.count, by: batchSize).map({ Array(order[$0..<min(order.count, $0 + batchSize)]) }) {
            let outcomes = try critic.critiqueNow(chunk.map { requests[$0] })
            for (i, o) in zip(chunk, outcomes) { out[i] = o }
            done += chunk.count
            if Date().timeIntervalSince(lastPrint) >= 10 || done == order.count {
                lastPrint = Date()
                let rate = Double(done) / Date().timeIntervalSince(start)
                print(String(format: "%@: %d/%d critiqued, %.1f/s, ETA %@", label, done, order.count, rate,
                             TrainingProgressBar.duration(Double(order.count - done) / max(rate, 1e-9))))
            }
        }
        return out.map { $0! }
    }

    /// One JSON object per line: what the oracle said and what the critic said, for reading the disagreements.
    static func writeDump(_ examples: [PRMExample], _ outcomes: [CritiqueOutcome], to path: String) throws {
        var out = Data()
        for (e, o) in zip(examples, outcomes) {
            var object: [String: Any] = [
                "query_id": e.queryID, "origin": e.variant.origin,
                "oracle_final": e.label.finalScore, "oracle_steps": e.label.stepVerdicts.map(\.score),
                "oracle_answer": e.label.answerVerdict.score,
            ]
            switch o {
            case let .scored(chain, text, attempts):
                object["outcome"] = "scored"
                object["final"] = chain.finalScore
                object["steps"] = chain.stepVerdicts.map(\.score)
                object["answer"] = chain.answerVerdict.score
                object["attempts"] = attempts
                object["text"] = text
            case let .malformed(text, error, attempts):
                object["outcome"] = "malformed"
                object["error"] = error
                object["attempts"] = attempts
                object["text"] = text
            case let .failed(reason):
                object["outcome"] = "failed"
                object["error"] = reason
            }
            out.append(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            out.append(0x0A)
        }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try out.write(to: url)
    }

    /// Scored outcomes with the final score aggregated from their verdicts.
    static func aggregated(_ outcomes: [CritiqueOutcome]) -> [CritiqueOutcome] {
        outcomes.map { o in
            guard case let .scored(chain, _, attempts) = o else { return o }
            let a = PRMCritic.aggregated(chain)
            return .scored(a, text: a.text, attempts: attempts)
        }
    }

    /// Outcomes with the format gate in front: a rejected response scores the gate's score.
    static func gated(_ examples: [PRMExample], _ outcomes: [CritiqueOutcome], _ gate: FormatGate) -> [CritiqueOutcome] {
        zip(examples, outcomes).map { e, o in
            guard case let .rejected(reason) = gate.check(steps: e.variant.steps, answer: e.variant.answer) else { return o }
            let chain = CritiqueChain(
                stepVerdicts: e.variant.steps.indices.map { StepVerdict(index: $0 + 1, critique: reason, score: FormatGate.rejectedScore) },
                answerVerdict: AnswerVerdict(critique: reason, score: FormatGate.rejectedScore), finalScore: FormatGate.rejectedScore)
            return .scored(chain, text: chain.text, attempts: 1)
        }
    }
}
