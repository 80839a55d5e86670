import Foundation
import Store
import Testing

/// `cdra report` end to end: a study stored in a schema of its own, the real `cdra` executable, and
/// the page opened in headless Chromium. The headline cells are checked against means and
/// standard deviations this test computes with its own SQL, not with the report's code.
@Suite("cdra report in a headless browser", .serialized)
struct ReportBrowserEndToEndTests {
    @Test("the report renders without console errors and every headline cell matches PostgreSQL")
    func reportMatchesDatabase() async throws {
        let started = ContinuousClock.now
        let context = EndToEndContext()
        let database = context.makeDatabase()
        do {
            try await Migrator.migrate(database)
            try await database.transaction { try ReportFixture.insert($0) }
            try await check(context, database)
        } catch {
            await context.dropSchema(database)
            throw error
        }
        await context.dropSchema(database)
        print("report browser test: \(started.duration(to: .now)) in all")
    }

    func check(_ context: EndToEndContext, _ database: Database) async throws {
        let chromium = try #require(Browser.executable(),
                                    "chromium is not installed (Compose/local/install.sh installs it with apt)")
        let artifacts = Browser.artifactsDirectory
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("report-e2e-\(context.suffix)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        // The console check must see an uncaught exception: proven on a page that throws one, whose
        // screenshot is also the size of a page with next to nothing on it.
        let canary = work.appendingPathComponent("canary.html")
        try "<!DOCTYPE html><html><body><p>x</p><script>throw new Error(\"x\")</script></body></html>"
            .write(to: canary, atomically: true, encoding: .utf8)
        let canaryShot = work.appendingPathComponent("canary.png")
        let canaryRun = try Browser.screenshot(chromium, page: canary, to: canaryShot, profile: work.appendingPathComponent("profile"))
        #expect(Browser.consoleProblems(canaryRun.stderr).contains { $0.contains("Uncaught Error: x") },
                "the console check missed a deliberate uncaught exception; stderr: \(canaryRun.stderr.suffix(2000))")
        let blankSize = (try? FileManager.default.attributesOfItem(atPath: canaryShot.path)[.size] as? Int) ?? 0

        // The report.
        let cdra = EndToEndContext.binDirectory.appendingPathComponent("cdra").path
        let page = artifacts.appendingPathComponent("report.html")
        let clock = ContinuousClock()
        let reportStart = clock.now
        let report = try Browser.run(cdra, ["report", "--study", ReportFixture.study, "--out", page.path],
                                     environment: context.childEnvironment)
        let reportTime = reportStart.duration(to: clock.now)
        try #require(report.status == 0, "cdra report exited \(report.status): \(report.stderr.suffix(3000))")
        let html = try String(contentsOf: page, encoding: .utf8)

        // Opened in the browser: the DOM it built and a screenshot, both without a console message.
        let browserStart = clock.now
        let dom = try Browser.dumpDOM(chromium, page: page, profile: work.appendingPathComponent("profile"))
        let screenshot = artifacts.appendingPathComponent("report.png")
        let shot = try Browser.screenshot(chromium, page: page, to: screenshot, profile: work.appendingPathComponent("profile"))
        let browserTime = browserStart.duration(to: clock.now)
        #expect(dom.status == 0 && shot.status == 0, "chromium exited \(dom.status) / \(shot.status): \(dom.stderr.suffix(2000))")
        #expect(Browser.consoleProblems(dom.stderr + shot.stderr).isEmpty,
                "console output: \(Browser.consoleProblems(dom.stderr + shot.stderr))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4e, 0x47]), "the screenshot is not a PNG")
        #expect(Browser.pngSize(png).map { $0 == (1280, 4000) } == true, "screenshot size \(String(describing: Browser.pngSize(png)))")
        #expect(png.count > 3 * max(blankSize, 1), "screenshot \(png.count) bytes, an almost empty page \(blankSize) bytes")
        print("report browser test: screenshot \(screenshot.path) (\(png.count) bytes); cdra report \(reportTime), "
              + "chromium (DOM + screenshot) \(browserTime)")

        // Self-contained: nothing to fetch, no script at all (the fixture's hostile texts stayed text,
        // and with quotes escaped, ` src="` can only be a real attribute).
        for external in ["<script", "<link", "<img", "<iframe", "<object", "<embed", " src=\"", "@import", "url("] {
            #expect(!html.contains(external), "the page contains \(external)")
        }
        let links = html.components(separatedBy: "href=\"").dropFirst()
        #expect(!links.isEmpty && links.allSatisfy { $0.hasPrefix("#") }, "a link leaves the page")
        #expect(!dom.stdout.contains("<script"), "the browser built a script element from the data")
        #expect(dom.stdout.contains("<h1>CDRA study <code>\(ReportFixture.study)</code></h1>"))

        let expected = try await database.withConnection { try ReportFixture.expectedHeadline($0) }
        try checkHeadline(dom: dom.stdout, expected: expected)
        checkMarkdown(report.stdout, expected: expected)
        try await checkChartsAndExamples(dom: dom.stdout, database)

        try await checkEmptyCases(context, cdra: cdra, chromium: chromium, work: work)
    }

    // MARK: - Headline

    /// Every cell's attributes and visible text against the SQL aggregate, and every aggregate has its cell.
    func checkHeadline(dom: String, expected: [ReportFixture.Aggregate]) throws {
        let cells = DOM.elements("td", in: dom).filter { $0.attributes["class"]?.hasPrefix("cell") == true }
        // SFT and 4 method/reward rows, 9 measures, 2 splits.
        #expect(cells.count == 5 * 9 * 2, "\(cells.count) headline cells")
        var byKey: [String: ReportFixture.Aggregate] = [:]
        for a in expected { byKey[a.key] = a }
        #expect(expected.count == 5 * 9 * 2 - 2, "the fixture leaves out win_rate for SFT on both splits")
        var seen = Set<String>()
        for cell in cells {
            let a = cell.attributes
            let key = "\(a["data-method"] ?? "?")|\(a["data-reward"] ?? "?")|\(a["data-split"] ?? "?")|\(a["data-metric"] ?? "?")"
            let n = Int(a["data-n"] ?? "") ?? -1
            let text = DOM.text(cell.inner)
            guard let want = byKey[key] else {
                #expect(n == 0 && a["data-mean"] == nil && text == "– n=0", "cell \(key) has a value the database has not: \(a)")
                continue
            }
            seen.insert(key)
            #expect(n == want.n, "cell \(key): n \(n), PostgreSQL \(want.n)")
            let mean = Double(a["data-mean"] ?? "")
            #expect(mean.map { Self.close($0, want.mean) } == true, "cell \(key): data-mean \(a["data-mean"] ?? "nil"), PostgreSQL \(want.mean)")
            if let std = want.std {
                #expect(Double(a["data-std"] ?? "").map { Self.close($0, std) } == true,
                        "cell \(key): data-std \(a["data-std"] ?? "nil"), PostgreSQL \(std)")
                #expect(text == "\(Self.fixed(want.mean)) ± \(Self.fixed(std)) n=\(want.n)", "cell \(key) shows '\(text)'")
            } else {
                #expect(a["data-std"] == "", "cell \(key): one seed has no standard deviation, data-std \(a["data-std"] ?? "nil")")
                #expect(text == "\(Self.fixed(want.mean)) n=\(want.n)", "cell \(key) shows '\(text)'")
            }
        }
        #expect(seen == Set(byKey.keys), "cells missing for \(Set(byKey.keys).subtracting(seen).sorted())")
        #expect(expected.contains { $0.n == 1 } && expected.contains { $0.n == 2 && $0.std != nil })
    }

    /// The Markdown on standard output has the same figures for the test split.
    func checkMarkdown(_ markdown: String, expected: [ReportFixture.Aggregate]) {
        let test = markdown.components(separatedBy: "### test_perturbed").first ?? ""
        let lines = test.split(separator: "\n").map(String.init)
        for a in expected where a.split == "test" {
            let prefix = "| \(ReportFixture.label(a.method)) | \(a.reward.isEmpty ? "–" : a.reward) | "
            let cell = a.std.map { "\(Self.fixed(a.mean)) ± \(Self.fixed($0)) (n=\(a.n))" } ?? "\(Self.fixed(a.mean)) (n=\(a.n))"
            #expect(lines.contains { $0.hasPrefix(prefix) && $0.contains(" \(cell) ") }, "no Markdown row \(prefix)… with \(cell)")
        }
        #expect(markdown.contains("### test_perturbed"))
    }

    // MARK: - Charts and examples

    func checkChartsAndExamples(dom: String, _ database: Database) async throws {
        for metric in ["reward_mean", "zero_advantage_group_fraction", "kl", "entropy", "prm_oracle_gap"] {
            let chart = try #require(DOM.elements("svg", in: dom).first { $0.attributes["data-chart"] == metric }, "no chart of \(metric)")
            // Four settings × two seeds (thin) plus four means; axes with ticks; a legend entry per setting.
            #expect(chart.inner.components(separatedBy: "<polyline").count - 1 == 12, "\(metric): polylines")
            #expect(chart.inner.contains("class=\"axis x-axis\"") && chart.inner.contains(">step</text>"))
            for title in ["GRPO · fine", "CDPA-step · fine", "GRPO · coarse", "CDPA-step · coarse"] {
                #expect(chart.inner.contains(">\(title)</text>"), "\(metric): no legend entry \(title)")
            }
        }
        for metric in ["acc_pf", "m_dm"] {
            let chart = try #require(DOM.elements("svg", in: dom).first { $0.attributes["data-chart"] == "topic-\(metric)" })
            let bars = DOM.elements("rect", in: chart.inner).filter { $0.attributes["data-value"] != nil }
            #expect(bars.count == ReportFixture.topics.count * 5, "topic-\(metric): \(bars.count) bars")
            // The SFT bar of each topic is that topic's row in PostgreSQL.
            for topic in ReportFixture.topics {
                let value = try await database.withConnection {
                    try $0.execute("""
                        SELECT value FROM evaluations WHERE checkpoint_id = $1 AND split = 'test' AND metric = $2 AND topic = $3
                        ORDER BY evaluated_at DESC LIMIT 1
                        """, [.text(ReportFixture.sft), .text(metric), .text(topic)])[0].double(0)
                }
                let group = try #require(DOM.elements("g", in: chart.inner).first { $0.attributes["data-group"] == topic }, "no bars for \(topic)")
                let sft = DOM.elements("rect", in: group.inner).first { $0.attributes["data-series"] == "SFT" }
                #expect(sft.flatMap { Double($0.attributes["data-value"] ?? "") } == value, "\(topic) \(metric)")
            }
        }

        let articles = DOM.elements("article", in: dom)
        #expect(articles.map { $0.attributes["data-query-id"] ?? "" } == ["q-test-1", "q-test-2", "q-test-3"],
                "q-test-0 was not evaluated by every method, so the first three common ones follow it")
        for article in articles {
            let queryID = article.attributes["data-query-id"] ?? ""
            let responses = DOM.elements("section", in: article.inner)
            #expect(responses.count == 5, "\(queryID): \(responses.count) responses")
            for response in responses {
                let checkpoint = response.attributes["data-checkpoint"] ?? ""
                let stored = try await database.withConnection {
                    try $0.execute("""
                        SELECT s.text FROM evaluation_examples x
                        JOIN evaluation_runs r USING (evaluation_id) JOIN responses s USING (response_id)
                        WHERE r.checkpoint_id = $1 AND r.split = 'test' AND x.query_id = $2
                        ORDER BY r.evaluated_at DESC LIMIT 1
                        """, [.text(checkpoint), .text(queryID)]).first?.string(0)
                }
                let shown = DOM.elements("pre", in: response.inner).first.map { DOM.unescape($0.inner) }
                #expect(shown != nil && shown == stored, "\(queryID) \(checkpoint): response text")
            }
        }
        // The hostile question is shown as text.
        #expect(DOM.text(dom).contains(ReportFixture.hostileQuestion))
        #expect(dom.contains("Critic’s final score"))
        #expect(dom.contains("No critique: the format gate scored this response."))
        #expect(dom.contains("No critic score (failed: deadline passed"))
    }

    // MARK: - Empty cases

    func checkEmptyCases(_ context: EndToEndContext, cdra: String, chromium: String, work: URL) async throws {
        // A study with no runs: a non-zero exit naming the study and what is there.
        let missing = try Browser.run(cdra, ["report", "--study", "no-such-study", "--out", work.appendingPathComponent("x.html").path],
                                      environment: context.childEnvironment)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no policy runs for study 'no-such-study'"), "\(missing.stderr.suffix(1000))")
        #expect(missing.stderr.contains("Studies found: bare (2 runs), \(ReportFixture.study) (8 runs), \(ReportFixture.study)-extra (1 run)"),
                "\(missing.stderr.suffix(1000))")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("x.html").path))

        // Runs without evaluations: the page says so and still has the curves.
        let barePage = work.appendingPathComponent("bare.html")
        let bare = try Browser.run(cdra, ["report", "--study", "bare", "--out", barePage.path], environment: context.childEnvironment)
        try #require(bare.status == 0, "cdra report --study bare exited \(bare.status): \(bare.stderr.suffix(2000))")
        #expect(bare.stdout.contains("No evaluations are stored yet"))
        let dom = try Browser.dumpDOM(chromium, page: barePage, profile: work.appendingPathComponent("profile"))
        #expect(Browser.consoleProblems(dom.stderr).isEmpty)
        #expect(dom.stdout.contains("id=\"no-evaluations\""))
        #expect(!dom.stdout.contains("class=\"cell"))
        let curve = DOM.elements("svg", in: dom.stdout).first { $0.attributes["data-chart"] == "reward_mean" }
        #expect(curve.map { $0.inner.components(separatedBy: "<polyline").count - 1 } == 2)
    }

    // MARK: - Formatting, as the report promises it

    static func fixed(_ value: Double) -> String {
        let text = String(format: "%.3f", value)
        return text == "-0.000" ? "0.000" : text
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }
}

// MARK: - The fixture

/// A small study as the trainer and evaluator store it: an SFT warm start, GRPO and CDPA-step runs
/// under both reward settings with two seeds, evaluation runs with per-topic rows and examples, and
/// rows the report must leave out (an older evaluation run, a non-final checkpoint, another study,
/// the experiment's summary rows).
enum ReportFixture {
    static let study = "e2e-study"
    static let sft = "policy-sft-0123abcd", bareSFT = "policy-sft-4567ef01"
    static let topics = ["Health & Fitness", "Personal <Safety>", "Travel"]
    static let methods = ["grpo", "cdpa-step"], rewards = ["fine", "coarse"], seeds = [1, 2]
    static let headlineMetrics = ["acc_pf", "acc_da", "acc_mis", "m_dm", "m_ie", "hidden_pref_recall", "prm_score", "win_rate", "format_valid"]
    static let hostileQuestion = #"How do I share my location <script>throw new Error("question")</script> & keep it "private"?"#

    static func runID(_ method: String, _ reward: String, _ seed: Int, study: String = study) -> String {
        "\(study)-\(method)-\(reward)-s\(seed)"
    }

    static func label(_ method: String) -> String {
        ["sft": "SFT", "grpo": "GRPO", "cdpa": "CDPA", "cdpa-step": "CDPA-step"][method] ?? method
    }

    /// A value in (0.05, 0.95) that depends on `key` only (FNV-1a), far from round numbers.
    static func value(_ key: String) -> Double {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return 0.05 + 0.9 * Double(hash % 1_000_003) / 1_000_003 + 1e-7 * Double.pi
    }

    static func insert(_ c: PostgresConnection) throws {
        // Profiles and queries: four test and four perturbed queries.
        for i in 0..<4 {
            try c.execute("INSERT INTO profiles (profile_id, stated_preference, risk_tolerance) VALUES ($1, $2, $3)",
                          [.text("p\(i)"), .text(i == 1 ? "I prefer <b>privacy</b> & \"quiet\" plans." : "I prefer plans that respect my time."),
                           .text(["low", "medium", "high", "low"][i])])
            for split in ["test", "test_perturbed"] {
                try c.execute("""
                    INSERT INTO queries (query_id, profile_id, question, topic, hidden_preferences, split, source_event_id)
                    VALUES ($1, $2, $3, $4, $5, $6, gen_random_uuid())
                    """, [.text(queryID(split, i)), .text("p\(i)"),
                          .text(i == 1 && split == "test" ? hostileQuestion : "Question \(i) of the \(split) split?"),
                          .text(topics[i % topics.count]), .textArray(["privacy", "autonomy"]), .text(split)])
            }
        }

        // Checkpoints: the warm start, steps 2 and 4 of every run, a run of another study, and a second study without evaluations.
        try checkpoint(c, id: sft, run: sft, step: 120, parent: nil, config: #"{"algorithm": "sft"}"#)
        var finals: [String] = []
        for method in methods { for reward in rewards { for seed in seeds {
            let run = runID(method, reward, seed)
            for step in [2, 4] { try checkpoint(c, run: run, step: step, method: method, reward: reward, seed: seed) }
            finals.append("\(run)-step-4")
            try metrics(c, run: run, steps: 4)
        } } }
        try checkpoint(c, run: "\(study)-extra-grpo-fine-s1", step: 4, method: "grpo", reward: "fine", seed: 1)
        // The second study starts from a warm start of its own that was not evaluated either.
        try checkpoint(c, id: bareSFT, run: bareSFT, step: 120, parent: nil, config: #"{"algorithm": "sft"}"#)
        for method in ["grpo", "cdpa-step"] {
            let run = runID(method, "fine", 1, study: "bare")
            try checkpoint(c, run: run, step: 3, method: method, reward: "fine", seed: 1, warmStart: bareSFT)
            try metrics(c, run: run, steps: 3)
        }
        // The experiment's own table, stored as runs <study>/<method>/<reward>: not a run's curve.
        try c.execute("INSERT INTO training_metrics (run_id, step, name, value) VALUES ($1, 4, 'reward_mean', 99)",
                      [.text("\(study)/grpo/fine")])

        // Evaluations of the warm start and of every final checkpoint, one hour ago.
        for checkpoint in [sft] + finals {
            for split in ["test", "test_perturbed"] {
                try evaluation(c, checkpoint: checkpoint, split: split, config: "cfg-1", age: "1 hour")
            }
        }
        // Left out: an older run of another evaluator configuration, a newer evaluation of a
        // non-final checkpoint, and the other study's run.
        try evaluation(c, checkpoint: "\(runID("grpo", "fine", 1))-step-4", split: "test", config: "cfg-0", age: "1 day", constant: 0.0001)
        try evaluation(c, checkpoint: "\(runID("grpo", "fine", 1))-step-2", split: "test", config: "cfg-1", age: "1 minute", constant: 0.9999)
        try evaluation(c, checkpoint: "\(study)-extra-grpo-fine-s1-step-4", split: "test", config: "cfg-1", age: "1 minute", constant: 0.9999)
    }

    static func queryID(_ split: String, _ i: Int) -> String { split == "test" ? "q-test-\(i)" : "q-perturbed-\(i)" }

    static func checkpoint(_ c: PostgresConnection, run: String, step: Int, method: String, reward: String, seed: Int,
                           warmStart: String = sft) throws {
        let config = """
            {"algorithm": "\(method == "grpo" ? "grpo" : "cdpa")", "estimator": "\(method)", "reward": "\(reward)",
             "training": {"seed": \(seed), "steps": 4, "estimator": "\(method)"}, "warm_start": "\(warmStart)"}
            """
        try checkpoint(c, id: "\(run)-step-\(step)", run: run, step: step, parent: warmStart, config: config)
    }

    static func checkpoint(_ c: PostgresConnection, id: String, run: String, step: Int, parent: String?, config: String) throws {
        try c.execute("""
            INSERT INTO checkpoints (checkpoint_id, model_kind, run_id, step, parent_checkpoint_id, config, safetensors, sha256)
            VALUES ($1, 'policy', $2, $3, $4, $5, $6, encode(sha256($6), 'hex'))
            """, [.text(id), .text(run), .int(step), parent.map { .text($0) }, .jsonb(config), .bytea(Array("weights of \(id)".utf8))])
    }

    static func metrics(_ c: PostgresConnection, run: String, steps: Int) throws {
        for step in 1...steps {
            var names = ["reward_mean", "zero_advantage_group_fraction", "kl", "entropy", "loss"]
            if step % 2 == 0 { names.append("prm_oracle_gap") }   // the guard's gap is logged on some steps only
            for name in names {
                try c.execute("INSERT INTO training_metrics (run_id, step, name, value) VALUES ($1, $2, $3, $4)",
                              [.text(run), .int(step), .text(name), .double(value("\(run)|\(name)|\(step)"))])
            }
        }
    }

    /// One evaluation run: its whole-split measures, per-topic rows (test split) and examples.
    static func evaluation(_ c: PostgresConnection, checkpoint: String, split: String, config: String, age: String,
                           constant: Double? = nil) throws {
        let id = "eval-\(checkpoint)-\(split)-\(config)"
        let isSFT = checkpoint == sft
        try c.execute("""
            INSERT INTO evaluation_runs (evaluation_id, checkpoint_id, split, evaluator_config, config, examples, baseline_checkpoint_id, evaluated_at)
            VALUES ($1, $2, $3, $4, '{}', 4, $5, now() - $6::interval)
            """, [.text(id), .text(checkpoint), .text(split), .text(config), isSFT ? nil : PostgresValue.text(sft), .text(age)])
        for metric in headlineMetrics + ["oracle_score"] {
            if isSFT && metric == "win_rate" { continue }                                           // no baseline for itself
            if checkpoint == "\(runID("grpo", "coarse", 2))-step-4" && metric == "m_ie" { continue }   // one seed only: n = 1
            try measure(c, id, checkpoint, split, metric, nil, constant ?? value("\(checkpoint)|\(split)|\(metric)"), age)
        }
        if split == "test" {
            for topic in topics { for metric in ["acc_pf", "m_dm"] {
                try measure(c, id, checkpoint, split, metric, topic, constant ?? value("\(checkpoint)|\(split)|\(metric)|\(topic)"), age)
            } }
        }
        for i in 0..<4 {
            // The lowest GRPO fine seed was not evaluated on the first test query: the examples skip it.
            if split == "test", i == 0, checkpoint == "\(runID("grpo", "fine", 1))-step-4" { continue }
            let query = queryID(split, i), response = "r-\(id)-\(i)"
            let text = i == 1 ? "Step 1: Ask what \"private\" means to them.\nStep 2: </pre><script>throw new Error(\"response\")</script>\nAnswer: Share it & stop."
                : "Step 1: Name the preference.\nStep 2: Weigh the risk of \(checkpoint).\nAnswer: Share only with consent."
            try c.execute("INSERT INTO responses (response_id, query_id, model_checkpoint, origin, text, steps) VALUES ($1, $2, $3, 'policy', $4, $5)",
                          [.text(response), .text(query), .text(checkpoint), .text(text), .jsonb(#"["Step 1: ...", "Step 2: ...", "Answer: ..."]"#)])
            var request: String? = "crit-\(id)-\(i)"
            if i == 2 {
                request = nil   // the format gate rejected it: no critique was asked for
            } else if i == 3 && checkpoint.hasPrefix(runID("cdpa-step", "coarse", 1)) {
                try c.execute("""
                    INSERT INTO critiques (request_id, response_id, critique_chain, step_scores, final_score, status, error, critic_backend)
                    VALUES ($1, $2, '[]', '{}', NULL, 'failed', 'deadline passed after 60 s', 'prm')
                    """, [.text(request!), .text(response)])
            } else {
                let chain = #"[{"step": 1, "critique": "Names the <img src=x onerror=alert(1)> preference.", "score": 0.5}, {"step": 2, "critique": "Weighs it.", "score": 0.25}, {"step": "answer", "critique": "Consistent & safe.", "score": 0.75}]"#
                try c.execute("""
                    INSERT INTO critiques (request_id, response_id, critique_chain, step_scores, final_score, status, critic_backend)
                    VALUES ($1, $2, $3, '{0.5,0.25}', 0.5, 'ok', 'prm')
                    """, [.text(request!), .text(response), .jsonb(chain)])
            }
            let verdict = #"{"acknowledgesPreference": true, "violatesPreference": false, "helpful": true, "misleading": false, "addressedDimensions": ["privacy"], "rationale": {"helpful": "answers <it>"}}"#
            try c.execute("""
                INSERT INTO evaluation_examples (evaluation_id, query_id, response_id, topic, format_valid, verdict, oracle_score,
                                                 hidden_recall, prm_score, critique_request_id, win)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """, [.text(id), .text(query), .text(response), .text(topics[i % topics.count]), .bool(i != 2), .jsonb(verdict),
                      .double(0.25 * Double(i) - 0.3), .double(0.5), request == nil ? nil : PostgresValue.double(0.5),
                      request.map { PostgresValue.text($0) }, isSFT ? nil : PostgresValue.double(i % 2 == 0 ? 1 : 0.5)])
        }
    }

    static func measure(_ c: PostgresConnection, _ run: String, _ checkpoint: String, _ split: String, _ metric: String,
                        _ topic: String?, _ value: Double, _ age: String) throws {
        try c.execute("""
            INSERT INTO evaluations (checkpoint_id, split, metric, value, details, evaluation_run, topic, evaluated_at)
            VALUES ($1, $2, $3, $4, '{}', $5, $6, now() - $7::interval)
            """, [.text(checkpoint), .text(split), .text(metric), .double(value), .text(run), topic.map { .text($0) }, .text(age)])
    }

    // MARK: Expected values, by SQL alone

    struct Aggregate {
        var method: String, reward: String, split: String, metric: String
        var mean: Double, std: Double?, n: Int
        var key: String { "\(method)|\(reward)|\(split)|\(metric)" }
    }

    /// Per method, reward, split and measure: avg, stddev_samp and count over the final checkpoints'
    /// newest evaluation runs; SFT from the warm start the runs name.
    static func expectedHeadline(_ c: PostgresConnection) throws -> [Aggregate] {
        let pattern = "^\(study)-(grpo|cdpa|cdpa-step)-(fine|coarse)-s[0-9]+$"
        let result = try c.execute("""
            WITH finals AS (
                SELECT DISTINCT ON (run_id) run_id, checkpoint_id, config->>'warm_start' AS warm_start
                FROM checkpoints WHERE model_kind = 'policy' AND step > 0 AND run_id ~ $1
                ORDER BY run_id, step DESC
            ), settings AS (
                SELECT checkpoint_id, (regexp_match(run_id, $1))[1] AS method, (regexp_match(run_id, $1))[2] AS reward FROM finals
                UNION
                SELECT DISTINCT warm_start, 'sft', '' FROM finals
            ), newest AS (
                SELECT DISTINCT ON (checkpoint_id, split) evaluation_id, checkpoint_id, split
                FROM evaluation_runs ORDER BY checkpoint_id, split, evaluated_at DESC
            )
            SELECT s.method, s.reward, n.split, e.metric, avg(e.value) AS mean, stddev_samp(e.value) AS std, count(*) AS n
            FROM settings s
            JOIN newest n USING (checkpoint_id)
            JOIN evaluations e ON e.evaluation_run = n.evaluation_id AND e.topic IS NULL
            WHERE n.split IN ('test', 'test_perturbed') AND e.metric = ANY($2::text[])
            GROUP BY 1, 2, 3, 4
            """, [.text(pattern), .textArray(headlineMetrics)])
        return try result.map { row in
            Aggregate(method: try row.string("method") ?? "", reward: try row.string("reward") ?? "", split: try row.string("split") ?? "",
                      metric: try row.string("metric") ?? "", mean: try row.double("mean") ?? .nan, std: try row.double("std"),
                      n: try row.int("n") ?? 0)
        }
    }
}

// MARK: - Chromium

/// Headless Chromium, run as a child process: its DOM dump, its screenshot, its console messages.
enum Browser {
    /// `CDRA_CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
    static func executable() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["CDRA_CHROMIUM"], !given.isEmpty { return given }
        for dir in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let path = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    /// `CDRA_TEST_ARTIFACTS_DIR`, else `.build/test-artifacts` in the repository.
    static var artifactsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CDRA_TEST_ARTIFACTS_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return EndToEndContext.repositoryRoot.appendingPathComponent(".build/test-artifacts")
    }

    static func arguments(profile: URL) -> [String] {
        // Console messages reach stderr only with logging on; a profile of its own keeps runs apart.
        ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--no-first-run",
         "--user-data-dir=\(profile.path)", "--hide-scrollbars"]
    }

    static func dumpDOM(_ chromium: String, page: URL, profile: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(chromium, arguments(profile: profile) + ["--dump-dom", page.absoluteString])
    }

    static func screenshot(_ chromium: String, page: URL, to png: URL, profile: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        try? FileManager.default.removeItem(at: png)
        return try run(chromium, arguments(profile: profile) + ["--screenshot=\(png.path)", "--window-size=1280,4000", page.absoluteString])
    }

    /// The page's console messages and uncaught exceptions. Chromium logs each as one line tagged
    /// `:CONSOLE` (at INFO, whatever the message's level, so an error cannot be told from a log
    /// line); the report has no script, so any such line is a fault.
    static func consoleProblems(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ data: Data) -> (Int, Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24 else { return nil }
        func be32(_ i: Int) -> Int { bytes[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    /// Runs a program to completion (killed after `timeout`), its standard output and error kept apart.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-run-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        for url in [out, err] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        // Polled rather than waitUntilExit (see ChildProcess.runToCompletion).
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { usleep(20_000) }
        }
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

// MARK: - Reading the serialized DOM

/// Just enough of an HTML reader for the DOM Chromium serializes: elements by tag name with their
/// attributes and inner HTML (same-name nesting counted), their text, character references undone.
enum DOM {
    struct Element {
        var attributes: [String: String]
        var inner: String
    }

    static func elements(_ tag: String, in html: String) -> [Element] {
        var out: [Element] = []
        let open = "<\(tag)", close = "</\(tag)>"
        var cursor = html.startIndex
        while let start = html.range(of: open, range: cursor..<html.endIndex) {
            // `<td` must not match `<tdx`: the next character ends the name.
            guard start.upperBound < html.endIndex, [" ", ">", "/"].contains(html[start.upperBound]),
                  let tagEnd = html.range(of: ">", range: start.upperBound..<html.endIndex) else {
                cursor = start.upperBound
                continue
            }
            let attributes = parseAttributes(String(html[start.upperBound..<tagEnd.lowerBound]))
            if html[html.index(before: tagEnd.lowerBound)] == "/" {   // self-closed (SVG)
                out.append(Element(attributes: attributes, inner: ""))
                cursor = tagEnd.upperBound
                continue
            }
            var depth = 1, scan = tagEnd.upperBound, innerEnd = html.endIndex
            while depth > 0, let nextClose = html.range(of: close, range: scan..<html.endIndex) {
                if let o = html.range(of: open, range: scan..<nextClose.lowerBound) {
                    // Another element of the same name opens first (unless the name only starts the same).
                    if o.upperBound < html.endIndex, [" ", ">"].contains(html[o.upperBound]) { depth += 1 }
                    scan = o.upperBound
                } else {
                    depth -= 1
                    scan = nextClose.upperBound
                    if depth == 0 { innerEnd = nextClose.lowerBound }
                }
            }
            out.append(Element(attributes: attributes, inner: String(html[tagEnd.upperBound..<innerEnd])))
            // On from the opening tag, not past the element: nested elements of the same name are found too.
            cursor = tagEnd.upperBound
        }
        return out
    }

    static func parseAttributes(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(text)
        while let eq = rest.firstIndex(of: "=") {
            let name = rest[..<eq].trimmingCharacters(in: .whitespaces)
            let afterEq = rest[rest.index(after: eq)...]
            guard afterEq.first == "\"", let endQuote = afterEq.dropFirst().firstIndex(of: "\"") else { break }
            out[name.split(separator: " ").last.map(String.init) ?? name] = unescape(String(afterEq[afterEq.index(after: afterEq.startIndex)..<endQuote]))
            rest = afterEq[afterEq.index(after: endQuote)...]
        }
        return out
    }

    /// The text of an HTML fragment: tags dropped, runs of white space made one space, references undone.
    static func text(_ html: String) -> String {
        var out = "", inTag = false
        for ch in html {
            if ch == "<" { inTag = true } else if ch == ">" { inTag = false } else if !inTag { out.append(ch) }
        }
        return unescape(out).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&nbsp;", with: "\u{a0}").replacingOccurrences(of: "&amp;", with: "&")
    }
}
