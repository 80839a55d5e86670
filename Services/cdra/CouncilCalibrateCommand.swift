import ArgumentParser
import Council
import DeepPref
import Events
import Foundation
import SentenceEncoder

/// `cdra council calibrate`: fits the built-in council's decision rule on hand-written queries.
struct CouncilCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit the built-in council's calibration on the development split of hand-written queries.",
        discussion: """
            Reads the queries marked "dev" (never the "heldout" ones, never the benchmark), computes \
            every dimension's evidence with the sentence encoder, fits a logistic regression and the \
            confidence threshold (the highest recall at the target precision), and writes calibration.json.
            """)

    @Option(help: "Hand-written queries (JSON).")
    var queries = "Data/handwritten-queries.json"

    @Option(help: "Where to write the calibration (the pack's calibration.json).")
    var out = "Shared/DeepPref/Knowledge/calibration.json"

    @Option(help: "L2 penalty of the logistic regression.")
    var l2 = 0.001

    @Option(help: "Precision the threshold must reach on the dev queries (the highest recall that does).")
    var targetPrecision = 0.72

    @Option(help: "Also write all evidence of every hand-written and benchmark test query (before any maximum) as JSON lines to this file, for studying decision rules.")
    var dumpEvidence: String?

    @Option(help: "Only cross-validate the fit with this many folds of the dev queries (query i in fold i mod K) and print the pooled recall and precision; writes nothing.")
    var crossValidate: Int?

    func run() async throws {
        let set = try HandwrittenQueries.load(URL(fileURLWithPath: queries))
        let dev = set.queries.filter { $0.split == "dev" }
        guard !dev.isEmpty else { throw ValidationError("\(queries) has no queries with split \"dev\"") }
        if let folds = crossValidate, folds < 2 || folds > dev.count {
            throw ValidationError("--cross-validate needs 2 to \(dev.count) folds, not \(folds)")
        }
        let reader = PreferenceReader(pack: try KnowledgePack.builtin(), encoder: try SentenceEncoder())
        let examples = CouncilCalibrator.examples(reader, dev)
        if let folds = crossValidate {
            let s = CouncilCalibrator.crossValidate(examples, folds: folds, l2: l2, targetPrecision: targetPrecision)
            print(String(format: "council calibrate: %d-fold cross-validation on %d dev queries, target precision %.2f: recall %.3f precision %.3f F1 %.3f",
                         folds, dev.count, targetPrecision, s.recall, s.precision, s.f1))
            return
        }
        if let dumpEvidence { try Self.dump(reader, set.queries, to: dumpEvidence) }
        let calibration = CouncilCalibrator.fit(examples, l2: l2, targetPrecision: targetPrecision,
                                                fittedOn: "\(queries): \(dev.count) dev queries")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try (encoder.encode(calibration) + Data("\n".utf8)).write(to: URL(fileURLWithPath: out))
        standardError("council calibrate: \(dev.count) dev queries, \(examples.count * reader.pack.dimensions.count) (query, dimension) examples")
        for name in PreferenceFeatures.names + [PreferenceFeatures.standingName] {
            standardError(String(format: "  weight %-18@ %+.4f  (ranking %+.4f)", name, calibration.weights[name] ?? 0,
                                 calibration.ranking?[name] ?? 0))
        }
        standardError(String(format: "  similarity floor %.2f", calibration.similarityFloor))
        standardError(String(format: "  bias %+.4f, threshold %.2f: dev precision %.3f recall %.3f F1 %.3f",
                             calibration.bias, calibration.threshold, calibration.development["precision"] ?? 0,
                             calibration.development["recall"] ?? 0, calibration.development["f1"] ?? 0))
        standardError("council calibrate: wrote \(out)")
    }

    static func dump(_ reader: PreferenceReader, _ items: [HandwrittenQueries.Item], to path: String) throws {
        let pack = reader.pack
        var rows: [(id: String, set: String, question: String, preference: String, topic: String?, labels: [String])] =
            items.map { ($0.id, $0.split, $0.query, "", $0.topic, $0.preferences.map(\.dimension)) }
        let benchmark = try DeepPrefBuilder(pack: pack, config: DeepPrefBuildConfig(pairs: 3000, seed: 20_260_101)).build()
        for (name, pairs) in [("test", benchmark.split("test")), ("test_perturbed", benchmark.perturbedTest)] {
            rows += pairs.map { ($0.id, name, $0.question, $0.preference, $0.topic, $0.hiddenPreferences) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        struct Header: Encodable { var dimensions: [String]; var situations: [String]; var implies: [[Double]] }
        let dims = pack.dimensions.map(\.name)
        let header = Header(dimensions: dims, situations: pack.situations.situations.map(\.name),
                            implies: pack.situations.situations.map { s in
                                dims.map { d in s.implies.first { $0.dimension == d }?.strength ?? 0 } })
        var lines = [String(decoding: try encoder.encode(header), as: UTF8.self)]
        struct Row: Encodable { var id: String; var set: String; var labels: [String]; var study: PreferenceReader.Study }
        for r in rows {
            let study = reader.study(question: r.question, preference: r.preference, topic: r.topic)
            lines.append(String(decoding: try encoder.encode(Row(id: r.id, set: r.set, labels: r.labels, study: study)), as: UTF8.self))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        standardError("council calibrate: wrote the evidence of \(rows.count) queries to \(path)")
    }
}

/// `cdra council measure`: recall and precision of the built-in council on hand-written queries
/// and on the benchmark's test and perturbed splits, and its annotation rate.
struct CouncilMeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Recall and precision of the built-in council on hand-written queries and the benchmark.")

    @Option(help: "Hand-written queries (JSON).")
    var queries = "Data/handwritten-queries.json"

    @Option(help: "Benchmark seed (the tests use 20260101).")
    var seed: UInt64 = 20_260_101

    @Flag(help: "Keywords only (the council without the sentence encoder), for comparison.")
    var keywordsOnly = false

    @Flag(help: "Print every query's missed and extra dimensions.")
    var verbose = false

    @Option(help: "Measure with this calibration file instead of the pack's calibration.json (e.g. a fresh `calibrate --out`).")
    var calibration: String?

    func run() async throws {
        var pack = try KnowledgePack.builtin()
        if let calibration {
            do {
                pack.calibration = try JSONDecoder().decode(CouncilCalibration.self, from: Data(contentsOf: URL(fileURLWithPath: calibration)))
            } catch {
                throw ValidationError("cannot read the calibration \(calibration): \(error)")
            }
        }
        let started = Date()
        let council = keywordsOnly ? BuiltinCouncil(pack: pack) : try BuiltinCouncil(pack: pack, encoder: try SentenceEncoder())
        standardError(String(format: "council measure: council ready in %.2f s", Date().timeIntervalSince(started)))
        let set = try HandwrittenQueries.load(URL(fileURLWithPath: queries))
        var rows: [[String]] = []
        func measure(_ name: String, _ items: [(QuerySubmitted, Set<String>)]) throws {
            var s = CouncilCalibrator.Score()
            let t0 = Date()
            for (q, truth) in items {
                let inferred = Set(try council.annotateNow(q).inferredPreferences.map(\.dimension))
                if verbose && inferred != truth {
                    print("\(q.queryID) [\(q.topic ?? "-")] missed \(truth.subtracting(inferred).sorted()) extra \(inferred.subtracting(truth).sorted()): \(q.question)")
                }
                s.add(truth: truth, inferred: inferred)
            }
            let seconds = Date().timeIntervalSince(t0)
            rows.append([name, "\(items.count)", String(format: "%.3f", s.recall), String(format: "%.3f", s.precision),
                         String(format: "%.0f", Double(items.count) / max(seconds, 1e-9))])
        }
        for split in ["dev", "heldout"] {
            let items = set.queries.filter { $0.split == split }.map { item in
                (QuerySubmitted(queryID: item.id, profile: UserProfile(profileID: "handwritten", statedPreference: ""),
                                question: item.query, topic: item.topic),
                 Set(item.preferences.map(\.dimension)))
            }
            try measure("hand-written \(split)", items)
        }
        let benchmark = try DeepPrefBuilder(pack: pack, config: DeepPrefBuildConfig(pairs: 3000, seed: seed)).build()
        try measure("benchmark test", benchmark.split("test").map { ($0.querySubmitted, Set($0.hiddenPreferences)) })
        try measure("benchmark test_perturbed", benchmark.perturbedTest.map { ($0.querySubmitted, Set($0.hiddenPreferences)) })
        print(TextTable.render([["set", "queries", "recall", "precision", "queries/s"]] + rows))
    }
}
