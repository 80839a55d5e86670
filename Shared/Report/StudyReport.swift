import Foundation

/// The report of one study: what `cdra report` writes, as one self-contained HTML page (inline CSS
/// and SVG, no scripts, nothing fetched) and the headline tables as Markdown.
public struct StudyReport: Sendable {
    /// The training curves drawn, in order.
    public static let curveMetrics = ["reward_mean", "zero_advantage_group_fraction", "kl", "entropy", "prm_oracle_gap"]
    /// The splits of the headline tables, in order.
    public static let splits = ["test", "test_perturbed"]
    /// The per-topic measures drawn as bars (test split).
    public static let topicMetrics = ["acc_pf", "m_dm"]

    public let study: Study
    /// The newest evaluation run of each checkpoint and split.
    public let evaluations: [EvaluationRecord]
    public let curves: [TrainingPoint]
    public let examples: [ExamplePrompt]
    public let generatedAt: Date
    /// Where the data came from, for the page's header (`schema public`).
    public let source: String

    public init(study: Study, evaluations: [EvaluationRecord], curves: [TrainingPoint], examples: [ExamplePrompt],
                generatedAt: Date, source: String) {
        self.study = study
        self.evaluations = evaluations
        self.curves = curves
        self.examples = examples
        self.generatedAt = generatedAt
        self.source = source
    }

    public var headlineTables: [HeadlineTable] {
        Self.splits.map { HeadlineTable(study: study, evaluations: evaluations, split: $0) }
    }

    /// True when none of the study's checkpoints has an evaluation of a headline split.
    public var hasNoEvaluations: Bool { headlineTables.allSatisfy(\.isEmpty) }

    // MARK: - Markdown

    /// The headline tables (test, then test_perturbed) as Markdown, or a sentence saying there are
    /// no evaluations yet.
    public func markdown() -> String {
        var out = ["## Study \(HeadlineTable.markdownEscape(study.name)): headline", ""]
        if hasNoEvaluations {
            out.append("No evaluations are stored yet for the \(study.checkpointIDs.count) checkpoints of this study "
                       + "(\(study.runs.count) runs and their warm start); the HTML report has the training curves.")
            return out.joined(separator: "\n")
        }
        out.append("Mean ± sample standard deviation over seeds (final checkpoint of each run, newest evaluation run); "
                   + "n = seeds with a value; Acc_Mis: lower is better.")
        for note in notes() { out += ["", "> " + note] }
        for table in headlineTables {
            out += ["", "### \(table.split)", ""]
            out.append(table.isEmpty ? "No \(table.split) evaluations are stored yet." : table.markdown())
        }
        return out.joined(separator: "\n")
    }

    // MARK: - HTML

    /// The whole page.
    public func html() -> String {
        var body = header()
        body += section(id: "headline", title: "Headline results", headlineSection())
        body += section(id: "runs", title: "Runs", runsSection())
        body += section(id: "curves", title: "Training curves", curvesSection())
        body += section(id: "topics", title: "Per topic (test split)", topicsSection())
        body += section(id: "examples", title: "Example prompts (test split)", examplesSection())
        body += "<footer><p>Written by <code>cdra report --study \(HTML.escape(study.name))</code>. Every number is read from "
            + "PostgreSQL and printed with a fixed number of decimals; headline cells carry the exact values in their "
            + "<code>data-mean</code>, <code>data-std</code> and <code>data-n</code> attributes.</p></footer>"
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
            + "<title>CDRA report: \(HTML.escape(study.name))</title><style>\(Self.css)</style></head>"
            + "<body" + HTML.attribute("data-study", study.name) + ">\(body)</body></html>\n"
    }

    private func section(id: String, title: String, _ content: String) -> String {
        "<section id=\"\(id)\"><h2>\(HTML.escape(title))</h2>\(content)</section>"
    }

    private func header() -> String {
        let formatter = ISO8601DateFormatter()
        var out = "<header><h1>CDRA study <code>\(HTML.escape(study.name))</code></h1><p class=\"meta\">Generated "
            + "\(HTML.escape(formatter.string(from: generatedAt))) from \(HTML.escape(source)). "
        let seeds = Set(study.runs.map(\.name.seed)).sorted().map(String.init).joined(separator: ", ")
        out += "\(study.runs.count) runs (seeds \(HTML.escape(seeds))); warm start "
            + (study.warmStartIDs.isEmpty ? "not named by the runs" : study.warmStartIDs.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", "))
            + ".</p>"
        out += "<nav><a href=\"#headline\">Headline</a> · <a href=\"#runs\">Runs</a> · <a href=\"#curves\">Curves</a> · "
            + "<a href=\"#topics\">Per topic</a> · <a href=\"#examples\">Examples</a></nav>"
        let notes = self.notes()
        if !notes.isEmpty {
            out += "<ul class=\"notes\">" + notes.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        }
        return out + "</header>"
    }

    /// What a reader should know about the data: contradictions and gaps.
    func notes() -> [String] {
        var out: [String] = []
        if study.warmStartIDs.count > 1 {
            out.append("The runs name \(study.warmStartIDs.count) different warm starts; the SFT row averages over them.")
        }
        if study.warmStartIDs.isEmpty {
            out.append("No run names its warm start (config.warm_start or a parent checkpoint): there is no SFT row.")
        }
        for run in study.runs where !run.configurationMismatches.isEmpty {
            out.append("Run \(run.name.runID): its checkpoint's configuration says \(run.configurationMismatches.joined(separator: ", ")), "
                       + "unlike its name; the report goes by the name.")
        }
        let evaluated = Set(evaluations.filter { $0.split == "test" }.map(\.checkpointID))
        let missing = study.runs.filter { !evaluated.contains($0.finalCheckpointID) }.map(\.name.runID)
        if !hasNoEvaluations, !missing.isEmpty {
            out.append("Not evaluated on the test split yet (left out of the means): \(missing.joined(separator: ", ")).")
        }
        return out
    }

    // MARK: Headline

    private func headlineSection() -> String {
        guard !hasNoEvaluations else {
            return "<p class=\"empty\" id=\"no-evaluations\">No evaluations are stored yet for this study’s "
                + "\(study.checkpointIDs.count) checkpoints (the final checkpoint of each of the \(study.runs.count) runs, and "
                + "the warm start). The evaluator writes them when it sees each checkpoint; the training curves below "
                + "are already in.</p>"
        }
        var out = "<p class=\"caption\">Mean ± sample standard deviation over seeds: the final (highest-step) checkpoint "
            + "of each run, its newest evaluation run per split; n = seeds with a value (a single seed shows its value). "
            + "SFT is the warm start the runs started from. Acc_Mis: lower is better. Bold: the best mean of a column.</p>"
        for table in headlineTables {
            out += "<h3>\(HTML.escape(table.split))</h3>"
            if table.isEmpty {
                out += "<p class=\"empty\">No \(HTML.escape(table.split)) evaluations are stored yet.</p>"
                continue
            }
            let best = table.bestRows
            out += "<table class=\"headline\"" + HTML.attribute("data-split", table.split) + "><thead><tr><th>method</th><th>reward</th>"
            out += HeadlineTable.columns.map { "<th" + HTML.attribute("data-metric", $0.metric) + ">\(HTML.escape($0.title))</th>" }.joined()
            out += "</tr></thead><tbody>"
            for (r, row) in table.rows.enumerated() {
                out += "<tr" + HTML.attribute("data-method", row.setting.method) + "><th scope=\"row\">\(HTML.escape(row.setting.label))</th>"
                    + "<td>\(HTML.escape(row.setting.reward ?? ReportNumber.missing))</td>"
                for (c, cell) in row.cells.enumerated() {
                    out += headlineCell(cell, column: HeadlineTable.columns[c], setting: row.setting, split: table.split,
                                        best: best[c].contains(r))
                }
                out += "</tr>"
            }
            out += "</tbody></table>"
            let baselines = Set(evaluations.filter { $0.split == table.split }.compactMap(\.baselineCheckpointID)).sorted()
            if !baselines.isEmpty {
                out += "<p class=\"caption\">Win rate against " + baselines.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", ") + ".</p>"
            }
        }
        return out
    }

    private func headlineCell(_ cell: SeedSummary, column: HeadlineTable.Column, setting: MethodSetting, split: String,
                              best: Bool) -> String {
        var attributes = HTML.attribute("class", best ? "cell best" : "cell") + HTML.attribute("data-metric", column.metric)
            + HTML.attribute("data-method", setting.method) + HTML.attribute("data-reward", setting.reward ?? "")
            + HTML.attribute("data-split", split) + HTML.attribute("data-n", String(cell.n))
        attributes += HTML.attribute("data-mean", cell.mean.map(ReportNumber.exact))
        attributes += HTML.attribute("data-std", cell.mean == nil ? nil : cell.standardDeviation.map(ReportNumber.exact) ?? "")
        var text: String
        if let mean = cell.mean {
            text = "<span class=\"mean\">\(ReportNumber.fixed(mean))</span>"
            if let std = cell.standardDeviation {
                text += "<span class=\"pm\"> ± </span><span class=\"std\">\(ReportNumber.fixed(std))</span>"
            }
        } else {
            text = "<span class=\"none\">\(ReportNumber.missing)</span>"
        }
        text += " <span class=\"n\">n=\(cell.n)</span>"
        return "<td\(attributes)>\(text)</td>"
    }

    // MARK: Runs

    private func runsSection() -> String {
        var byKey: [String: EvaluationRecord] = [:]
        for e in evaluations { byKey[e.checkpointID + "\u{0}" + e.split] = e }
        let formatter = ISO8601DateFormatter()
        func evaluation(_ checkpoint: String, _ split: String) -> String {
            guard let e = byKey[checkpoint + "\u{0}" + split] else { return "<td class=\"none\">not evaluated</td>" }
            return "<td>\(e.examples) queries, \(HTML.escape(e.evaluatedAt.map { formatter.string(from: $0) } ?? "?"))</td>"
        }
        var out = "<table class=\"runs\"><thead><tr><th>run</th><th>method</th><th>reward</th><th>seed</th><th>final step</th>"
            + "<th>final checkpoint</th>" + Self.splits.map { "<th>\(HTML.escape($0)) evaluation</th>" }.joined() + "</tr></thead><tbody>"
        for id in study.warmStartIDs {
            out += "<tr" + HTML.attribute("data-checkpoint", id) + "><td>warm start</td><td>SFT</td><td>\(ReportNumber.missing)</td>"
                + "<td>\(ReportNumber.missing)</td><td>\(ReportNumber.missing)</td><td><code>\(HTML.escape(id))</code></td>"
                + Self.splits.map { evaluation(id, $0) }.joined() + "</tr>"
        }
        for run in study.runs {
            out += "<tr" + HTML.attribute("data-run", run.name.runID) + "><td><code>\(HTML.escape(run.name.runID))</code></td>"
                + "<td>\(HTML.escape(run.setting.label))</td><td>\(HTML.escape(run.name.reward))</td><td>\(run.name.seed)</td>"
                + "<td>\(run.finalStep)</td><td><code>\(HTML.escape(run.finalCheckpointID))</code></td>"
                + Self.splits.map { evaluation(run.finalCheckpointID, $0) }.joined() + "</tr>"
        }
        return out + "</tbody></table>"
    }

    // MARK: Curves

    private func curvesSection() -> String {
        guard !curves.isEmpty else {
            return "<p class=\"empty\" id=\"no-curves\">No training metrics are stored for this study’s runs.</p>"
        }
        var out = "<p class=\"caption\">Per step, from <code>training_metrics</code>. Thick lines: the mean over a "
            + "setting’s seeds at each step (of the seeds that logged that step); thin lines: each seed. Dashed: coarse rewards.</p>"
        var byRunMetric: [String: [String: [(Int, Double)]]] = [:]
        for p in curves { byRunMetric[p.metric, default: [:]][p.runID, default: []].append((p.step, p.value)) }
        for metric in Self.curveMetrics {
            var series: [LineChart.Series] = []
            let runs = byRunMetric[metric] ?? [:]
            for setting in study.settings where setting != .sft {
                let settingRuns = study.runs(of: setting)
                var perStep: [Int: [Double]] = [:]
                for run in settingRuns {
                    let points = (runs[run.name.runID] ?? []).sorted { $0.0 < $1.0 }
                    guard !points.isEmpty else { continue }
                    for (step, value) in points { perStep[step, default: []].append(value) }
                    if settingRuns.count > 1 {
                        series.append(LineChart.Series(label: run.name.runID, color: setting.color, dashed: setting.isCoarse, faint: true,
                                                       points: points.map { (Double($0.0), $0.1) }))
                    }
                }
                guard !perStep.isEmpty else { continue }
                let means = perStep.keys.sorted().map { step -> (x: Double, y: Double) in
                    let values = perStep[step]!
                    return (Double(step), values.reduce(0, +) / Double(values.count))
                }
                series.append(LineChart.Series(label: setting.title, color: setting.color, dashed: setting.isCoarse, points: means))
            }
            out += "<figure class=\"chart\">" + LineChart(title: metric, xLabel: "step", yLabel: metric, identifier: metric, series: series).svg()
                + "</figure>"
        }
        return out
    }

    // MARK: Topics

    private func topicsSection() -> String {
        let tests = evaluations.filter { $0.split == "test" }
        var byCheckpoint: [String: EvaluationRecord] = [:]
        for e in tests { byCheckpoint[e.checkpointID] = e }
        let topics = Set(study.checkpointIDs.compactMap { byCheckpoint[$0] }.flatMap { $0.topics.keys }).sorted()
        guard !topics.isEmpty else {
            return "<p class=\"empty\" id=\"no-topics\">No per-topic test measures are stored yet.</p>"
        }
        let settings = study.settings
        func summary(_ setting: MethodSetting, _ topic: String, _ metric: String) -> SeedSummary {
            SeedSummary(study.checkpointIDs(of: setting).compactMap { byCheckpoint[$0]?.topics[topic]?[metric] })
        }
        var out = "<p class=\"caption\">Mean over seeds of each topic’s measure on the test split (from the per-topic "
            + "evaluation rows). Lighter bars: coarse rewards.</p>"
        let series = settings.map { GroupedBarChart.Series(label: $0.title, color: $0.color, light: $0.isCoarse) }
        for metric in Self.topicMetrics {
            let groups = topics.map { topic in GroupedBarChart.Group(label: topic, values: settings.map { summary($0, topic, metric).mean }) }
            out += "<figure class=\"chart\">" + GroupedBarChart(title: "\(metric) per topic", valueLabel: metric, identifier: "topic-\(metric)",
                                                                series: series, groups: groups).svg() + "</figure>"
        }
        out += "<details><summary>The values per topic</summary><table class=\"topics\"><thead><tr><th>topic</th><th>measure</th>"
            + settings.map { "<th>\(HTML.escape($0.title))</th>" }.joined() + "</tr></thead><tbody>"
        for topic in topics {
            for metric in Self.topicMetrics {
                out += "<tr><td>\(HTML.escape(topic))</td><td>\(HTML.escape(metric))</td>"
                for setting in settings {
                    let s = summary(setting, topic, metric)
                    out += "<td>\(HTML.escape(s.text))" + (s.n > 0 ? " <span class=\"n\">n=\(s.n)</span>" : "") + "</td>"
                }
                out += "</tr>"
            }
        }
        return out + "</tbody></table></details>"
    }

    // MARK: Examples

    private func examplesSection() -> String {
        guard !examples.isEmpty else {
            return "<p class=\"empty\" id=\"no-examples\">No test query has been evaluated for every method yet.</p>"
        }
        var out = "<p class=\"caption\">Test queries that every method’s checkpoint was evaluated on, the first "
            + "\(examples.count) by query id; per method, the lowest seed’s final checkpoint (SFT: the warm start).</p>"
        for (i, example) in examples.enumerated() {
            out += "<article class=\"example\"" + HTML.attribute("data-query-id", example.queryID) + ">"
            out += "<h3>Example \(i + 1): \(HTML.escape(example.topic)) <code>\(HTML.escape(example.queryID))</code></h3>"
            out += "<p class=\"question\"><strong>Question.</strong> \(HTML.escape(example.question))</p>"
            var profile = "<p class=\"profile\"><strong>Profile.</strong> \(HTML.escape(example.statedPreference ?? "(no stored profile)"))"
            if let risk = example.riskTolerance { profile += " <span class=\"risk\">Risk tolerance: \(HTML.escape(risk)).</span>" }
            if !example.hiddenPreferences.isEmpty {
                profile += " <span class=\"hidden\">Hidden preferences: \(HTML.escape(example.hiddenPreferences.joined(separator: ", "))).</span>"
            }
            out += profile + "</p><div class=\"responses\">"
            for (setting, checkpoint) in study.representatives {
                out += response(example.responses[checkpoint], setting: setting, checkpoint: checkpoint)
            }
            out += "</div></article>"
        }
        return out
    }

    private func response(_ response: ExamplePrompt.Response?, setting: MethodSetting, checkpoint: String) -> String {
        let seed = study.run(finalCheckpointID: checkpoint).map { " · seed \($0.name.seed)" } ?? ""
        var out = "<section class=\"response\"" + HTML.attribute("data-method", setting.method)
            + HTML.attribute("data-reward", setting.reward ?? "") + HTML.attribute("data-checkpoint", checkpoint) + ">"
        out += "<h4 style=\"border-color: \(HTML.escape(setting.color))\">\(HTML.escape(setting.title + seed))</h4>"
        guard let response else { return out + "<p class=\"empty\">No response stored.</p></section>" }
        out += "<pre class=\"response-text\">\(HTML.escape(response.text))</pre>"
        var scores = ["oracle score \(ReportNumber.fixed(response.oracleScore))"]
        if let v = response.prmScore { scores.append("PRM score \(ReportNumber.fixed(v))") }
        if let v = response.hiddenRecall { scores.append("hidden-pref. recall \(ReportNumber.fixed(v))") }
        if let v = response.win { scores.append("win \(ReportNumber.fixed(v, decimals: 1))") }
        scores.append(response.formatValid ? "format valid" : "format invalid")
        out += "<p class=\"scores\">\(HTML.escape(scores.joined(separator: " · ")))</p>"
        let checks = Self.verdictChecks(response.verdictJSON)
        if !checks.isEmpty {
            out += "<p class=\"checks\">" + checks.map { name, value in
                "<span class=\"check \(value ? "yes" : "no")\">\(HTML.escape(name)): \(value ? "yes" : "no")</span>"
            }.joined(separator: " ") + "</p>"
        }
        guard let critique = response.critique else {
            return out + "<p class=\"critique-none\">No critique: the format gate scored this response.</p></section>"
        }
        if !critique.steps.isEmpty {
            out += "<ol class=\"critique\">" + critique.steps.map { step in
                "<li><span class=\"step\">\(HTML.escape(step.label))</span> <span class=\"score\">\(ReportNumber.fixed(step.score))</span> "
                    + "\(HTML.escape(step.critique))</li>"
            }.joined() + "</ol>"
        }
        if let final = critique.finalScore {
            out += "<p class=\"final-score\">Critic’s final score: <strong>\(ReportNumber.fixed(final))</strong></p>"
        } else {
            let status = critique.status ?? "no reply stored"
            out += "<p class=\"critique-none\">No critic score (\(HTML.escape(status))"
                + (critique.error.map { ": \(HTML.escape($0))" } ?? "") + ").</p>"
        }
        return out + "</section>"
    }

    /// The verdict's yes/no checks, top-level booleans in key order, names spelled out
    /// (`acknowledgesPreference`, `acknowledges_preference` → "acknowledges preference").
    static func verdictChecks(_ json: String) -> [(String, Bool)] {
        enum Value: Decodable {
            case bool(Bool), other
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                self = (try? container.decode(Bool.self)).map(Value.bool) ?? .other
            }
        }
        guard let object = try? JSONDecoder().decode([String: Value].self, from: Data(json.utf8)) else { return [] }
        return object.keys.sorted().compactMap { key in
            guard case .bool(let value) = object[key]! else { return nil }
            var words = ""
            for ch in key {
                if ch == "_" { words += " " } else if ch.isUppercase { words += " " + ch.lowercased() } else { words.append(ch) }
            }
            return (words, value)
        }
    }

    // MARK: - Style

    static let css = """
        body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1f2328; background: #fff; font-size: 14px; line-height: 1.45; }
        h1 { font-size: 24px; margin: 8px 0; } h2 { font-size: 19px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
        h3 { font-size: 16px; margin: 18px 0 8px; } h4 { font-size: 14px; margin: 0 0 6px; border-left: 4px solid #888; padding-left: 6px; }
        code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
        .meta, .caption { color: #57606a; } nav a { color: #0969da; }
        .notes { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 8px 8px 28px; }
        .empty { color: #57606a; font-style: italic; }
        table { border-collapse: collapse; margin: 8px 0; }
        th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
        thead th { background: #f6f8fa; }
        table.headline td.cell { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        table.headline td.best .mean { font-weight: bold; }
        .n { color: #57606a; font-size: 11px; }
        table.headline td .n { display: block; }
        td.none { color: #57606a; }
        figure.chart { margin: 12px 0; }
        svg.chart { max-width: 100%; height: auto; font-size: 12px; }
        svg.chart text { fill: #1f2328; } svg.chart .chart-title { font-size: 14px; font-weight: bold; }
        svg.chart .grid { stroke: #eaeef2; } svg.chart .tick, svg.chart .axis-line { stroke: #57606a; }
        .example { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 16px; margin: 16px 0; }
        .responses { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 12px; }
        .response { background: #f6f8fa; border-radius: 6px; padding: 8px; }
        .response-text { white-space: pre-wrap; word-break: break-word; background: #fff; border: 1px solid #d0d7de; padding: 6px; margin: 4px 0; }
        .scores { margin: 4px 0; color: #57606a; }
        .check { display: inline-block; border-radius: 10px; padding: 0 6px; margin: 1px; font-size: 11.5px; }
        .check.yes { background: #dafbe1; } .check.no { background: #ffebe9; }
        ol.critique { margin: 4px 0; padding-left: 20px; } ol.critique .step { font-weight: bold; }
        ol.critique .score { font-variant-numeric: tabular-nums; color: #0550ae; }
        footer { margin-top: 32px; color: #57606a; font-size: 12px; }
        """
}
