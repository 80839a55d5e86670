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

/// Fits the council's decision rule on hand-written development queries: a logistic regression
/// of "a careful reader finds dimension d" on `PreferenceFeatures`, then the confidence threshold
/// with the best F1 on the same queries.
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

    /// Features of every (item, dimension) with its label.
    public static func examples(_ reader: PreferenceReader, _ items: [HandwrittenQueries.Item]) -> [(features: PreferenceFeatures, label: Bool)] {
        var out: [(PreferenceFeatures, Bool)] = []
        for item in items {
            let truth = Set(item.preferences.map(\.dimension))
            for f in reader.features(question: item.query, preference: "", topic: item.topic) {
                out.append((f, truth.contains(f.dimension)))
            }
        }
        return out
    }

    /// Logistic regression by full-batch gradient descent with an L2 penalty (deterministic), for
    /// each similarity floor of `floors`; the threshold is the one with the highest recall whose
    /// precision on the same queries reaches `targetPrecision` (the best F1 if none does), and the
    /// floor is the one whose threshold scores best that way.
    public static func fit(_ examples: [(features: PreferenceFeatures, label: Bool)], l2: Double = 0.001,
                           floors: [Double] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55], targetPrecision: Double = 0.75,
                           iterations: Int = 4000, learningRate: Double = 0.5, fittedOn: String) -> CouncilCalibration {
        func better(_ a: Score, than b: Score) -> Bool {
            let aOK = a.precision >= targetPrecision, bOK = b.precision >= targetPrecision
            if aOK != bOK { return aOK }
            return aOK ? (a.recall > b.recall + 1e-12 || (abs(a.recall - b.recall) <= 1e-12 && a.precision > b.precision + 1e-12))
                       : a.f1 > b.f1 + 1e-12
        }
        var best: (calibration: CouncilCalibration, score: Score)? = nil
        for floor in floors {
            let k = PreferenceFeatures.names.count
            var w = [Double](repeating: 0, count: k), b = 0.0
            let xs = examples.map { $0.features.vector(floor: floor) }, ys = examples.map { $0.label ? 1.0 : 0.0 }
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
            var calibration = CouncilCalibration(
                weights: Dictionary(uniqueKeysWithValues: zip(PreferenceFeatures.names, w.map { ($0 * 1e4).rounded() / 1e4 })),
                bias: (b * 1e4).rounded() / 1e4, threshold: 0.5, similarityFloor: floor, fittedOn: fittedOn, development: [:])
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

    /// Micro precision and recall of the calibrated decision on labelled examples.
    public static func score(_ examples: [(features: PreferenceFeatures, label: Bool)], _ c: CouncilCalibration) -> Score {
        var s = Score()
        for (f, label) in examples {
            let inferred = PreferenceReader.confidence(f, c) >= c.threshold
            if inferred && label { s.truePositives += 1 } else if inferred { s.falsePositives += 1 } else if label { s.falseNegatives += 1 }
        }
        return s
    }
}
