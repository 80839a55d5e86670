import ArgumentParser
import Foundation
import Report
import ServiceRuntime
import Store

/// `cdra report`: a study's results from PostgreSQL as one self-contained HTML page (headline
/// tables, training curves, per-topic bars, example prompts), and its headline tables as Markdown
/// on standard output.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a study's results as one self-contained HTML page; print the headline tables as Markdown.",
        discussion: "Runs are the policy runs named <study>-<method>-<reward>-s<seed> (method grpo, cdpa or cdpa-step; "
            + "reward fine or coarse); each run counts with its final checkpoint, SFT is their warm start.")

    @OptionGroup var options: ServiceOptions

    @Option(help: "Study id, as given to `cdra experiment --study`.")
    var study: String

    @Option(help: "The HTML file to write (its folder is created if missing).")
    var out: String

    /// Example prompts shown.
    static let exampleCount = 3

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra", level: .warning, format: options.logFormat)
        let configuration = options.databaseConfiguration(applicationName: "cdra-report")
        let database = Database(configuration: configuration)
        defer { database.shutdown() }
        let studyName = study
        let loaded: Loaded
        do {
            loaded = try await database.withConnection { connection in
                // One snapshot for every read: an evaluation stored meanwhile is in all of the page or none of it.
                try connection.transaction { connection in
                    try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    return try Self.load(study: studyName, ReportRepository(connection))
                }
            }
        } catch let error as StoreError where error.sqlState == "42P01" {
            StandardError.write("cdra report: a table is missing in schema \(configuration.schema) (\(error.message)); "
                                + "run `cdra migrate` first")
            throw ExitCode.failure
        }
        guard case .found(let report) = loaded else {
            if case .noRuns(let message) = loaded { StandardError.write("cdra report: " + message) }
            throw ExitCode.failure
        }
        let page = StudyReport(study: report.study, evaluations: report.evaluations, curves: report.curves, examples: report.examples,
                               generatedAt: Date(), source: "PostgreSQL schema \(configuration.schema)")
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let html = Data(page.html().utf8)
        try html.write(to: url, options: .atomic)
        print(page.markdown())
        StandardError.write(String(format: "cdra report: wrote %@ (%.0f KB): %d runs, %d evaluation runs, %d curve points, %d examples",
                                   url.path, Double(html.count) / 1024, report.study.runs.count, report.evaluations.count,
                                   report.curves.count, report.examples.count)
                            + (page.hasNoEvaluations ? "; no evaluations are stored yet" : ""))
    }

    enum Loaded: Sendable {
        case found(Found)
        case noRuns(String)
    }

    struct Found: Sendable {
        var study: Study
        var evaluations: [EvaluationRecord]
        var curves: [TrainingPoint]
        var examples: [ExamplePrompt]
    }

    /// Every read of the report, in order: the runs, their evaluations, their curves, the examples.
    static func load(study name: String, _ repository: ReportRepository) throws -> Loaded {
        let checkpoints = try repository.finalCheckpoints(study: name)
        let runs = checkpoints.compactMap { c -> StudyRun? in
            guard let runName = PolicyRunName(runID: c.runID, study: name) else { return nil }
            return StudyRun(name: runName, finalCheckpointID: c.checkpointID, finalStep: c.step, warmStartID: c.warmStartID,
                            configuredEstimator: c.estimator, configuredReward: c.reward, configuredSeed: c.seed)
        }
        guard !runs.isEmpty else { return .noRuns(try noRunsMessage(study: name, prefixed: checkpoints.map(\.runID), repository)) }
        let study = Study(name: name, runs: runs)

        let evaluationRuns = try repository.latestEvaluationRuns(checkpointIDs: study.checkpointIDs, splits: StudyReport.splits)
        var measures: [String: [ReportRepository.Measure]] = [:]
        for m in try repository.measures(evaluationIDs: evaluationRuns.map(\.evaluationID)) { measures[m.evaluationID, default: []].append(m) }
        let evaluations = evaluationRuns.map { run -> EvaluationRecord in
            var whole: [String: Double] = [:], topics: [String: [String: Double]] = [:]
            for m in measures[run.evaluationID] ?? [] {
                if let topic = m.topic { topics[topic, default: [:]][m.metric] = m.value } else { whole[m.metric] = m.value }
            }
            return EvaluationRecord(evaluationID: run.evaluationID, checkpointID: run.checkpointID, split: run.split,
                                    examples: run.examples, baselineCheckpointID: run.baselineCheckpointID,
                                    evaluatedAt: run.evaluatedAt, measures: whole, topics: topics)
        }

        let curves = try repository.trainingCurves(runIDs: study.runs.map(\.name.runID), names: StudyReport.curveMetrics)
            .map { TrainingPoint(runID: $0.runID, metric: $0.name, step: $0.step, value: $0.value) }

        // The examples: the same test queries for every method, from each method's representative checkpoint.
        var testRun: [String: String] = [:]
        for e in evaluations where e.split == "test" { testRun[e.checkpointID] = e.evaluationID }
        let representatives = study.representatives.map(\.checkpointID)
        var examples: [ExamplePrompt] = []
        if representatives.allSatisfy({ testRun[$0] != nil }) {
            let ids = representatives.compactMap { testRun[$0] }
            let queryIDs = try repository.commonQueryIDs(evaluationIDs: ids, limit: exampleCount)
            let rows = try repository.examples(evaluationIDs: ids, queryIDs: queryIDs)
            examples = queryIDs.compactMap { queryID in
                let forQuery = rows.filter { $0.queryID == queryID }
                guard let first = forQuery.first else { return nil }
                var responses: [String: ExamplePrompt.Response] = [:]
                for row in forQuery { responses[row.checkpointID] = response(row) }
                return ExamplePrompt(queryID: queryID, question: first.question, topic: first.topic,
                                     statedPreference: first.statedPreference, riskTolerance: first.riskTolerance,
                                     hiddenPreferences: first.hiddenPreferences, responses: responses)
            }
        }
        return .found(Found(study: study, evaluations: evaluations, curves: curves, examples: examples))
    }

    static func response(_ row: ReportRepository.Example) -> ExamplePrompt.Response {
        let critique = row.critiqueRequestID.map { _ in
            ExamplePrompt.Critique(status: row.critiqueStatus,
                                   steps: row.critiqueSteps.map { .init(label: $0.label, critique: $0.critique, score: $0.score) },
                                   finalScore: row.critiqueFinalScore, error: row.critiqueError)
        }
        return ExamplePrompt.Response(checkpointID: row.checkpointID, text: row.responseText, formatValid: row.formatValid,
                                      verdictJSON: row.verdictJSON, oracleScore: row.oracleScore, hiddenRecall: row.hiddenRecall,
                                      prmScore: row.prmScore, win: row.win, critique: critique)
    }

    /// Names the study and says what is there instead.
    static func noRunsMessage(study: String, prefixed: [String], _ repository: ReportRepository) throws -> String {
        var message = "no policy runs for study '\(study)': expected checkpoints (past step 0) of runs named "
            + "\(study)-<method>-<reward>-s<seed> with method \(PolicyRunName.methods.joined(separator: "|")) and reward "
            + "\(PolicyRunName.rewards.joined(separator: "|"))."
        if !prefixed.isEmpty {
            message += " Found runs starting with '\(study)-' that do not follow that pattern: "
                + prefixed.prefix(10).joined(separator: ", ") + (prefixed.count > 10 ? ", …" : "") + "."
        }
        let all = try repository.policyRunIDs()
        var studies: [String: Int] = [:]
        for id in all { if let parsed = PolicyRunName(runID: id) { studies[parsed.study, default: 0] += 1 } }
        if studies.isEmpty {
            message += all.isEmpty ? " Found no policy runs at all in this schema."
                : " Found no study runs in this schema, only other policy runs: \(all.prefix(10).joined(separator: ", "))\(all.count > 10 ? ", …" : "")."
        } else {
            message += " Studies found: " + studies.keys.sorted().map { "\($0) (\(studies[$0]!) run\(studies[$0]! == 1 ? "" : "s"))" }.joined(separator: ", ") + "."
        }
        return message
    }
}
