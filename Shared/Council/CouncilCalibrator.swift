import DeepPref
import Foundation

/// Hand-written queries with the preferences a careful reader finds (`Data/handwritten-queries.json`).
public struct HandwrittenQueries: Codable, Sendable {
    public struct Item: Codable, Sendable {
        public var id: String
        public var topic: String
        /// `dev` (used to fit the calibration) or `heldout` (never used for fitting).
        public var split: String
        public var query: String
        public var preferences: [Preference]
    }
    public struct Preference: Codable, Sendable {
        public var dimension: String
        public var span: String
        public var why: String
    }
    public var description: String
    public var queries: [Item]

    public static func load(_ url: URL) throws -> HandwrittenQueries {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CouncilError(.invalidInput, "cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(HandwrittenQueries.self, from: data) } catch {
            throw CouncilError(.invalidInput, "\(url.path) is not a hand-written query file: \(error)")
        }
    }
}

/// Fits the council's decision rule on hand-written development queries, in two stages of
/// logistic regression of "a careful reader finds dimension d": the first on `PreferenceFeatures`
/// alone gives the ranking of a query's dimensions; the second adds each dimension's standing in
/// that ranking. Then the threshold: the highest recall whose precision on the same queries
/// reaches the target.
public enum CouncilCalibrator {
    public struct Score: Sendable, Equatable {
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0
        public init() {}

        /// Counts one item: the dimensions it has against the ones inferred.
        public mutating func add(truth: Set<String>, inferred: Set<String>) {
            truePositives += truth.intersection(inferred).count
            falsePositives += inferred.subtracting(truth).count
            falseNegatives += truth.subtracting(inferred).count
        }
        public var precision: Double { Double(truePositives) / Double(max(1, truePositives + falsePositives)) }
        public var recall: Double { Double(truePositives) / Double(max(1, truePositives + falseNegatives)) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    }

    /// One query's evidence for every dimension, with the dimensions a careful reader finds.
    public typealias Example = (features: [PreferenceFeatures], truth: Set<String>)

    public static func examples(_ reader: PreferenceReader, _ items: [HandwrittenQueries.Item]) -> [Example] {
        items.map { item in
            (reader.features(question: item.query, preference: "", topic: item.topic), Set(item.preferences.map(\.dimension)))
        }
    }

    /// Logistic regression by full-batch gradient descent with an L2 penalty (deterministic).
    static func logistic(_ xs: [[Double]], _ ys: [Double], l2: Double, iterations: Int, learningRate: Double) -> (w: [Double], b: Double) {
        let k = xs.first?.count ?? 0
        var w = [Double](repeating: 0, count: k), b = 0.0
        let n = Double(max(1, xs.count))
        for _ in 0..<iterations {
            var gw = [Double](repeating: 0, count: k), gb = 0.0
            for (x, y) in zip(xs, ys) {
                var z = b
                for j in 0..<k { z += w[j] * x[j] }
                let err = 1 / (1 + exp(-z)) - y
                for j in 0..<k { gw[j] += err * x[j] }
                gb += err
            }
            for j in 0..<k { w[j] -= learningRate * (gw[j] / n + l2 * w[j]) }
            b -= learningRate * gb / n
        }
        return (w, b)
    }

    static func rounded(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }

    /// Both stages for each similarity floor of `floors`; the threshold is the one with the
    /// highest recall whose precision on the same queries reaches `targetPrecision` (the best F1
    /// if none does), and the floor is the one whose threshold scores best that way.
    public static func fit(_ examples: [Example], l2: Double = 0.001,
                           floors: [Double] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55], targetPrecision: Double = 0.72,
                           iterations: Int = 4000, learningRate: Double = 0.5, fittedOn: String) -> CouncilCalibration {
        func better(_ a: Score, than b: Score) -> Bool {
            let aOK = a.precision >= targetPrecision, bOK = b.precision >= targetPrecision
            if aOK != bOK { return aOK }
            return aOK ? (a.recall > b.recall + 1e-12 || (abs(a.recall - b.recall) <= 1e-12 && a.precision > b.precision + 1e-12))
                       : a.f1 > b.f1 + 1e-12
        }
        let names = PreferenceFeatures.names
        var best: (calibration: CouncilCalibration, score: Score)? = nil
        for floor in floors {
            let vectors = examples.map { $0.features.map { $0.vector(floor: floor) } }
            let ys = examples.flatMap { e in e.features.map { e.truth.contains($0.dimension) ? 1.0 : 0.0 } }
            let first = logistic(vectors.flatMap { $0 }, ys, l2: l2, iterations: iterations, learningRate: learningRate)
            let ranking = Dictionary(uniqueKeysWithValues: zip(names, first.w.map(rounded)))
            let xs = vectors.flatMap { v in zip(v, PreferenceReader.standing(v, ranking)).map { $0 + [$1] } }
            let second = logistic(xs, ys, l2: l2, iterations: iterations, learningRate: learningRate)
            var calibration = CouncilCalibration(
                weights: Dictionary(uniqueKeysWithValues: zip(names + [PreferenceFeatures.standingName], second.w.map(rounded))),
                bias: rounded(second.b), ranking: ranking, threshold: 0.5, similarityFloor: floor,
                fittedOn: fittedOn, development: [:])
            for step in 5...95 {
                calibration.threshold = Double(step) / 100
                let s = score(examples, calibration)
                if best == nil || better(s, than: best!.score) { best = (calibration, s) }
            }
        }
        var calibration = best!.calibration
        let s = best!.score
        calibration.development = ["precision": (s.precision * 1000).rounded() / 1000,
                                   "recall": (s.recall * 1000).rounded() / 1000,
                                   "f1": (s.f1 * 1000).rounded() / 1000]
        return calibration
    }

    /// K-fold cross-validation of `fit` on the examples: example i is in fold i mod K; each fold
    /// is scored by the calibration fitted on the others, and the scores are pooled.
    public static func crossValidate(_ examples: [Example], folds: Int, l2: Double = 0.001,
                                     targetPrecision: Double = 0.72) -> Score {
        var pooled = Score()
        for f in 0..<folds {
            let train = examples.indices.filter { $0 % folds != f }.map { examples[$0] }
            let held = examples.indices.filter { $0 % folds == f }.map { examples[$0] }
            let s = score(held, fit(train, l2: l2, targetPrecision: targetPrecision, fittedOn: "fold \(f)"))
            pooled.truePositives += s.truePositives
            pooled.falsePositives += s.falsePositives
            pooled.falseNegatives += s.falseNegatives
        }
        return pooled
    }

    /// Micro precision and recall of the calibrated decision on labelled queries.
    public static func score(_ examples: [Example], _ c: CouncilCalibration) -> Score {
        var s = Score()
        for e in examples {
            let inferred = zip(e.features, PreferenceReader.confidences(e.features, c)).filter { $0.1 >= c.threshold }.map(\.0.dimension)
            s.add(truth: e.truth, inferred: Set(inferred))
        }
        return s
    }
}
