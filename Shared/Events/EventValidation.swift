/// Value checks shared by the payload types' `validationProblems()`.
enum EventValidation {
    /// Scores in CDRA are in [−1, 1] (DESIGN §6 score bands).
    static func checkScore(_ score: Double, _ name: String, into problems: inout [String]) {
        if !(-1.0...1.0).contains(score) { problems.append("\(name) \(score) is outside [-1, 1]") }
    }

    static func checkNotEmpty(_ text: String, _ name: String, into problems: inout [String]) {
        if text.isEmpty { problems.append("\(name) is empty") }
    }

    /// Kafka topic names: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
    static func isTopicName(_ name: String) -> Bool {
        guard (1...249).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    /// Metric names: non-empty; values finite (JSON cannot carry NaN or infinity).
    static func checkMetrics(_ metrics: [String: Double], _ name: String, into problems: inout [String]) {
        for (key, value) in metrics.sorted(by: { $0.key < $1.key }) {
            if key.isEmpty { problems.append("\(name) has an empty metric name") }
            if !value.isFinite { problems.append("\(name).\(key) is not finite") }
        }
    }

    /// Splits of the DeepPref benchmark (DESIGN §5, §8).
    static let splits: Set<String> = ["train", "validation", "test", "test_perturbed"]
}
