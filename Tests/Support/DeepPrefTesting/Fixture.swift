import Council
import DeepPref
import Events
import Foundation
import OracleJudge
import SentenceEncoder

/// Shared, built once per test process: the pack, the default benchmark and the council's annotations.
public enum Fixture {
    public static let pack: KnowledgePack = {
        do { return try KnowledgePack.builtin() } catch { fatalError("built-in knowledge pack does not load: \(error)") }
    }()

    public static let seed: UInt64 = 20_260_101

    public static let benchmark: DeepPrefBenchmark = {
        do {
            return try DeepPrefBuilder(pack: pack, config: DeepPrefBuildConfig(pairs: 3000, seed: seed)).build()
        } catch { fatalError("benchmark build failed: \(error)") }
    }()

    /// Keywords only: what the business-logic tests of the judge, the PRM and the trainer annotate with.
    public static let council = BuiltinCouncil(pack: pack)

    /// The default built-in council (keywords, situations, paraphrases, topic priors, calibrated),
    /// with the sentence encoder the install script puts in place.
    public static let fullCouncil: BuiltinCouncil = {
        do { return try BuiltinCouncil(pack: pack, encoder: try SentenceEncoder()) } catch {
            fatalError("the built-in council does not start: \(error)")
        }
    }()

    /// The repository's hand-written queries (`Data/handwritten-queries.json`).
    public static let handwritten: HandwrittenQueries = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data/handwritten-queries.json")
        do { return try HandwrittenQueries.load(url) } catch { fatalError("\(error)") }
    }()
    public static let judge = BuiltinJudge(pack: pack)

    public static func annotate(_ pairs: [DeepPrefPair], with backend: BuiltinCouncil = council) throws -> [CouncilAnnotation] {
        try pairs.map { try backend.annotateNow($0.querySubmitted) }
    }

    /// PrefEval's explicit split, read in place (never copied into the repository).
    public static var prefevalDirectory: URL {
        let path = ProcessInfo.processInfo.environment["CDRA_PREFEVAL_DIR"]
            ?? "/work/shared/data/prefeval/explicit_preference"
        return URL(fileURLWithPath: path)
    }

    /// FNV-1a 64 of a byte string, printed by the determinism test.
    public static func fnv1a(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// Micro-averaged precision and recall of inferred against ground-truth dimensions.
    public static func precisionRecall(_ pairs: [DeepPrefPair], _ annotations: [CouncilAnnotation]) -> (precision: Double, recall: Double) {
        var tp = 0, fp = 0, fn = 0
        for (p, a) in zip(pairs, annotations) {
            let truth = Set(p.hiddenPreferences)
            let inferred = Set(a.inferredPreferences.map(\.dimension))
            tp += truth.intersection(inferred).count
            fp += inferred.subtracting(truth).count
            fn += truth.subtracting(inferred).count
        }
        return (Double(tp) / Double(max(1, tp + fp)), Double(tp) / Double(max(1, tp + fn)))
    }
}
