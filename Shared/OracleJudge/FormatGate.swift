import DeepPref
import Foundation

/// The rule-based format gate, applied before any reward: a response that is empty, has too many
/// steps, repeats itself or stuffs preference keywords is rejected outright, whatever a learned
/// critic would say of it. It needs only the text and the knowledge pack (no annotation), so the
/// critic and the trainer can run it on every sample. Rules: Docs/algorithms.md ("The format gate").
public struct FormatGate: Sendable {
    /// The outcome for one response.
    public enum Result: Sendable, Equatable {
        case passed
        /// Why, e.g. "format gate: step 3 repeats step 1".
        case rejected(String)

        public var passed: Bool { self == .passed }
    }

    /// The final score of a rejected response.
    public static let rejectedScore = -0.8
    /// Most steps a response may have.
    public static let maximumSteps = 12
    /// Fewest words an answer must have.
    public static let minimumAnswerWords = 5
    /// A step naming this many pack dimensions (and more than the query could support) is stuffing.
    public static let stuffedLabelCount = 5
    /// An answer carrying respect markers of this many different dimensions is stuffing.
    public static let stuffedMarkerDimensions = 7
    /// A sentence (of ≥ 4 words) appearing this often is repetition.
    public static let repeatedSentenceCount = 3

    private let labels: [PhrasePattern]
    private let markers: [[PhrasePattern]]

    public init(pack: KnowledgePack) {
        labels = pack.dimensions.map { PhrasePattern($0.label) }
        markers = pack.dimensions.map { $0.respectMarkers.map(PhrasePattern.init) }
    }

    public func check(steps: [String], answer: String) -> Result {
        let words = answer.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        if words < Self.minimumAnswerWords {
            return .rejected("format gate: the answer has \(words) word\(words == 1 ? "" : "s") (at least \(Self.minimumAnswerWords))")
        }
        if steps.count > Self.maximumSteps {
            return .rejected("format gate: \(steps.count) steps (at most \(Self.maximumSteps))")
        }
        var seen: [String: Int] = [:]
        for (i, step) in steps.enumerated() {
            let key = StepOracle.normalized(step)
            if key.isEmpty { return .rejected("format gate: step \(i + 1) is empty") }
            if let first = seen[key] { return .rejected("format gate: step \(i + 1) repeats step \(first + 1)") }
            seen[key] = i
            let t = ScannedText(step)
            let named = labels.filter(t.contains).count
            if named >= Self.stuffedLabelCount + 2 {
                return .rejected("format gate: step \(i + 1) lists \(named) preferences (keyword stuffing)")
            }
        }
        let a = ScannedText(answer)
        let markedDimensions = markers.filter { $0.contains(where: a.contains) }.count
        if markedDimensions >= Self.stuffedMarkerDimensions {
            return .rejected("format gate: the answer carries markers of \(markedDimensions) preferences (keyword stuffing)")
        }
        var sentences: [String: Int] = [:]
        for s in Self.sentences(steps.joined(separator: "\n") + "\n" + answer) {
            let key = StepOracle.normalized(s)
            guard key.split(separator: " ").count >= 4 else { continue }
            sentences[key, default: 0] += 1
            if sentences[key]! >= Self.repeatedSentenceCount {
                return .rejected("format gate: a sentence appears \(Self.repeatedSentenceCount) times")
            }
        }
        return .passed
    }

    static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            if ch == "." || ch == "!" || ch == "?" || ch == "\n" {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
