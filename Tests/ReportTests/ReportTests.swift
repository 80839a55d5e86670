import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Report
import Testing

/// A small study: SFT, GRPO and CDPA-step under both reward settings, two seeds each, with
/// evaluations, curves and one example; its texts carry markup that must come out inert.
enum SampleStudy {
    static let hostile = "<script>throw new Error(\"x\")</script> & 'quotes' \"double\" </td></table>"

    static func runs() -> [StudyRun] {
        var runs: [StudyRun] = []
        for reward in ["fine", "coarse"] {
            for method in ["grpo", "cdpa-step"] {
                for seed in 1...2 {
                    let id = "s1-\(method)-\(reward)-s\(seed)"
                    runs.append(StudyRun(name: PolicyRunName(runID: id, study: "s1")!, finalCheckpointID: "\(id)-step-4",
                                         finalStep: 4, warmStartID: "policy-sft-abc"))
                }
            }
        }
        return runs
    }

    static func value(_ checkpoint: String, _ metric: String) -> Double {
        Double(abs((checkpoint + metric).hashValue % 1000)) / 1000
    }

    static func report(evaluated: Bool = true) -> StudyReport {
        let study = Study(name: "s1", runs: runs())
        var evaluations: [EvaluationRecord] = []
        if evaluated {
            for checkpoint in study.checkpointIDs {
                evaluations.append(EvaluationRecord(
                    evaluationID: "eval-\(checkpoint)", checkpointID: checkpoint, split: "test", examples: 4,
                    baselineCheckpointID: "policy-sft-abc", evaluatedAt: Date(timeIntervalSince1970: 1_800_000_000),
                    measures: ["acc_pf": 0.5, "m_dm": 0.25, "win_rate": 0.75],
                    topics: [hostile: ["acc_pf": 0.5, "m_dm": 0.1], "Health": ["acc_pf": 1, "m_dm": 0.4]]))
            }
        }
        let curves = study.runs.flatMap { run in
            (1...4).flatMap { step in
                [TrainingPoint(runID: run.name.runID, metric: "reward_mean", step: step, value: Double(step) / 10),
                 TrainingPoint(runID: run.name.runID, metric: "kl", step: step, value: 0.01 * Double(step))]
            }
        }
        let responses = Dictionary(uniqueKeysWithValues: study.representatives.map { setting, checkpoint in
            (checkpoint, ExamplePrompt.Response(
                checkpointID: checkpoint, text: "Step 1: \(hostile)\nAnswer: fine", formatValid: true,
                verdictJSON: #"{"helpful": true, "misleading": false, "rationale": {"helpful": "yes"}}"#, oracleScore: 0.5,
                hiddenRecall: 1, prmScore: 0.25, win: 1,
                critique: ExamplePrompt.Critique(status: "ok", steps: [.init(label: "Step 1", critique: hostile, score: 0.5),
                                                                      .init(label: "Answer", critique: "ok", score: -0.25)],
                                                 finalScore: 0.125, error: nil)))
        })
        let example = ExamplePrompt(queryID: "q-<1>", question: hostile, topic: "Health", statedPreference: hostile,
                                    riskTolerance: "low", hiddenPreferences: ["privacy"], responses: responses)
        return StudyReport(study: study, evaluations: evaluations, curves: curves, examples: evaluated ? [example] : [],
                           generatedAt: Date(timeIntervalSince1970: 1_800_000_000), source: "PostgreSQL schema test")
    }
}

/// Parses `text` as XML; returns the parser's error, nil when it is well-formed.
func xmlError(_ text: String) -> String? {
    let parser = XMLParser(data: Data(text.utf8))
    return parser.parse() ? nil : String(describing: parser.parserError)
}

@Suite("report rendering")
struct ReportTests {
    @Test("escaping turns markup, ampersands and both quotes into character references")
    func escaping() {
        #expect(HTML.escape(#"<a href="x">Tom & 'Jerry'</a>"#) == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        #expect(HTML.escape("line\nnext\ttab") == "line\nnext\ttab")
        #expect(HTML.escape("bell\u{07}") == "bell\u{FFFD}")
        #expect(HTML.attribute("data-x", "a\"b") == #" data-x="a&quot;b""#)
        #expect(HTML.attribute("data-x", nil) == "")
    }

    @Test("mean ± sample standard deviation over seeds; one seed shows its value alone; none shows a dash")
    func seedSummary() {
        let s = SeedSummary([0.8, 0.9, 1.0])
        #expect(s.n == 3)
        #expect(abs(s.mean! - 0.9) < 1e-15)
        #expect(abs(s.standardDeviation! - 0.1) < 1e-15)   // divisor n − 1: population std would be 0.0816
        #expect(s.text == "0.900 ± 0.100")
        #expect(SeedSummary([0.8333]).text == "0.833")
        #expect(SeedSummary([0.8333]).standardDeviation == nil)
        #expect(SeedSummary([]).text == "–")
        #expect(SeedSummary([]).mean == nil)
    }

    @Test("fixed formatting never prints -0.000 and the exact form reads back bit for bit")
    func numbers() {
        #expect(ReportNumber.fixed(-0.0001) == "0.000")
        #expect(ReportNumber.fixed(-0.0006) == "-0.001")
        #expect(ReportNumber.fixed(0.8335, decimals: 2) == "0.83")
        #expect(ReportNumber.fixed(.nan) == "NaN")
        let x = 0.1 + 0.2
        #expect(Double(ReportNumber.exact(x)) == x)
    }

    @Test("run ids parse only as <study>-<method>-<reward>-s<seed> of that exact study")
    func runNames() throws {
        let name = try #require(PolicyRunName(runID: "exp-cdpa-step-coarse-s12", study: "exp"))
        #expect(name.method == "cdpa-step" && name.reward == "coarse" && name.seed == 12)
        #expect(PolicyRunName(runID: "exp-2-grpo-fine-s1", study: "exp") == nil)       // study exp-2
        #expect(PolicyRunName(runID: "exp/grpo/fine", study: "exp") == nil)            // the experiment's table
        #expect(PolicyRunName(runID: "exp-ppo-fine-s1", study: "exp") == nil)
        #expect(PolicyRunName(runID: "exp-grpo-fine-sx", study: "exp") == nil)
        #expect(PolicyRunName(runID: "exp-2-grpo-fine-s1")?.study == "exp-2")
        #expect(PolicyRunName(runID: "a-cdpa-step-fine-s3")?.method == "cdpa-step")
        #expect(PolicyRunName(runID: "policy-sft-abc") == nil)
    }

    @Test("the headline table has SFT first, then each method per reward setting, and aggregates seeds")
    func headlineRows() throws {
        let study = Study(name: "s1", runs: SampleStudy.runs())
        let evaluations = study.checkpointIDs.enumerated().map { i, checkpoint in
            EvaluationRecord(evaluationID: "e\(i)", checkpointID: checkpoint, split: "test", examples: 1, baselineCheckpointID: nil,
                             evaluatedAt: nil, measures: ["acc_pf": Double(i)])
        }
        let table = HeadlineTable(study: study, evaluations: evaluations, split: "test")
        #expect(table.rows.map(\.setting.key) == ["sft", "grpo/fine", "cdpa-step/fine", "grpo/coarse", "cdpa-step/coarse"])
        #expect(table.rows[0].cells[0] == SeedSummary([0]))
        #expect(table.rows[1].cells[0] == SeedSummary([1, 2]))     // seeds 1 and 2 of grpo/fine
        #expect(table.rows[1].cells[1].n == 0)                     // acc_da was not measured
        #expect(HeadlineTable(study: study, evaluations: evaluations, split: "test_perturbed").isEmpty)
    }

    @Test("the Markdown table has a header, a separator and one row per setting, with n in every cell")
    func markdown() {
        let text = SampleStudy.report().markdown()
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("|") }
        // The test split's table (header, separator, 5 rows); test_perturbed has no evaluations.
        #expect(lines.count == 7)
        let columns = HeadlineTable.columns.count + 2
        for line in lines { #expect(line.filter { $0 == "|" }.count == columns + 1) }
        #expect(lines[0].contains("Acc_PF") && lines[0].contains("Win rate"))
        #expect(lines[2].hasPrefix("| SFT | – | 0.500 (n=1) |"))
        #expect(lines[3].contains("0.500 ± 0.000 (n=2)"))
        #expect(text.contains("No test_perturbed evaluations are stored yet."))
        #expect(SampleStudy.report(evaluated: false).markdown().contains("No evaluations are stored yet"))
    }

    @Test("every chart is well-formed SVG with axes, ticks and a legend entry per series")
    func svgCharts() throws {
        let chart = LineChart(title: "kl <per> step", xLabel: "step", yLabel: "kl", identifier: "kl", series: [
            .init(label: "GRPO · fine", color: "#111", points: [(1, 0.1), (2, 0.3), (3, .nan)]),
            .init(label: "run & 1", color: "#111", faint: true, points: [(1, 0.2)]),
            .init(label: "CDPA-step · coarse", color: "#222", dashed: true, points: [(1, 0.2), (4, 0.25)]),
        ]).svg()
        #expect(xmlError(chart) == nil)
        #expect(chart.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(chart.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(chart.contains("<circle"))                       // the one-point series
        #expect(chart.contains("class=\"axis x-axis\"") && chart.contains("class=\"axis y-axis\""))
        #expect(chart.contains(">GRPO · fine</text>") && chart.contains(">CDPA-step · coarse</text>"))
        #expect(!chart.contains(">run &amp; 1</text>"))          // faint lines are not in the legend
        #expect(!chart.contains("NaN"))
        let flat = LineChart(title: "t", xLabel: "x", yLabel: "y", identifier: "t", series: [.init(label: "a", color: "#000", points: [(5, 2), (5, 2)])]).svg()
        #expect(xmlError(flat) == nil && !flat.contains("NaN") && !flat.contains("∞"))
        let empty = LineChart(title: "t", xLabel: "x", yLabel: "y", identifier: "t", series: []).svg()
        #expect(xmlError(empty) == nil && empty.contains("no values recorded"))

        let bars = GroupedBarChart(title: "acc_pf", valueLabel: "acc_pf", identifier: "b",
                                   series: [.init(label: "SFT", color: "#000"), .init(label: "GRPO", color: "#00f", light: true)],
                                   groups: [.init(label: SampleStudy.hostile, values: [0.5, nil]), .init(label: "Health", values: [1, 0.25])]).svg()
        #expect(xmlError(bars) == nil)
        #expect(bars.components(separatedBy: "<rect").count - 1 == 3 + 2)   // three bars, two legend swatches
    }

    @Test("axis ticks are round numbers covering the data")
    func ticks() {
        let svg = LineChart(title: "t", xLabel: "step", yLabel: "y", identifier: "t",
                            series: [.init(label: "a", color: "#000", points: [(1, 0.13), (37, 0.87)])]).svg()
        for label in [">0.0<", ">0.2<", ">0.4<", ">0.6<", ">0.8<", ">1.0<", ">0<", ">10<", ">40<"] {
            #expect(svg.contains(label), "missing tick \(label)")
        }
    }

    @Test("the page is one well-formed document with nothing external, no script, and the database's text escaped")
    func pageIsSelfContained() throws {
        let html = SampleStudy.report().html()
        // Well-formed as XML too (void elements are self-closed, no named entities): a stricter check than HTML's.
        #expect(xmlError(html) == nil)
        #expect(!html.contains("<script"))
        #expect(!html.contains("</td></table> &"))
        #expect(html.contains("&lt;script&gt;throw new Error(&quot;x&quot;)&lt;/script&gt;"))
        for external in ["src=", "http:", "https:", "@import", "url(", "<link"] where external != "http:" {
            #expect(!html.contains(external), "found \(external)")
        }
        // The only http address is the SVG namespace.
        #expect(html.components(separatedBy: "http").count - 1 == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1)
        #expect(html.components(separatedBy: "<svg").count - 1 == StudyReport.curveMetrics.count + StudyReport.topicMetrics.count)
        #expect(html.contains("data-query-id=\"q-&lt;1&gt;\""))
        #expect(html.contains("helpful: yes") && html.contains("misleading: no"))
        #expect(html.contains("Critic’s final score: <strong>0.125</strong>"))
    }

    @Test("the best mean of a column is marked, the lower one for Acc_Mis; a column of equal means marks none")
    func bestOfColumn() {
        let study = Study(name: "s1", runs: SampleStudy.runs())
        let evaluations = study.checkpointIDs.enumerated().map { i, checkpoint in
            EvaluationRecord(evaluationID: "e\(i)", checkpointID: checkpoint, split: "test", examples: 1, baselineCheckpointID: nil,
                             evaluatedAt: nil, measures: ["acc_pf": Double(i), "acc_mis": Double(i), "m_dm": 0.5])
        }
        let best = HeadlineTable(study: study, evaluations: evaluations, split: "test").bestRows
        #expect(best[0] == [4])      // acc_pf: cdpa-step/coarse has the highest checkpoints
        #expect(best[2] == [0])      // acc_mis: SFT, the lowest
        #expect(best[3].isEmpty)     // m_dm: all equal
        #expect(best[1].isEmpty)     // acc_da: no values
    }

    @Test("headline cells carry the exact mean, std and n, and print them with three decimals")
    func headlineCells() {
        let html = SampleStudy.report().html()
        #expect(html.contains(#"<td class="cell" data-metric="acc_pf" data-method="grpo" data-reward="fine" data-split="test" data-n="2" data-mean="0.5" data-std="0.0">"#))
        #expect(html.contains(#"data-metric="acc_pf" data-method="sft" data-reward="" data-split="test" data-n="1" data-mean="0.5" data-std="">"#))
        #expect(html.contains(#"data-metric="acc_da" data-method="sft" data-reward="" data-split="test" data-n="0">"#))
        #expect(html.contains(#"<span class="mean">0.750</span><span class="pm"> ± </span><span class="std">0.000</span> <span class="n">n=2</span>"#))
    }

    @Test("without evaluations the page says so and still draws the curves")
    func withoutEvaluations() {
        let report = SampleStudy.report(evaluated: false)
        #expect(report.hasNoEvaluations)
        let html = report.html()
        #expect(xmlError(html) == nil)
        #expect(html.contains("id=\"no-evaluations\""))
        #expect(!html.contains("class=\"cell"))
        #expect(html.contains("data-chart=\"reward_mean\"") && html.contains("<polyline"))
        #expect(html.contains("id=\"no-topics\"") && html.contains("id=\"no-examples\""))
    }
}
