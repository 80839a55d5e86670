import ChatCompletions
import Events
import Foundation

/// The published DeepPref reward-model record:
/// `{"idx", "question", "preference", "process", "label", "final_score"}`, where `process` is one
/// string of steps `Step 1: ...` … `Step N: ...` separated by newlines and `label` holds one
/// `{"critique", "score"}` per step.
///
/// Accepted on input: `idx` as an integer or a string; `process` as one string (a step may span
/// several lines; a new step starts at a line beginning `Step k:` or `Step k.`), or as a list of
/// step strings; steps must be numbered 1, 2, … in order; as many labels as steps; scores and
/// `final_score` in [−1, 1]. Written on output: the canonical form, `Step k: <text>` lines joined
/// by `\n`, so a canonical record round-trips exactly.
public struct DeepPrefRewardRecord: Sendable, Equatable {
    public enum Index: Sendable, Equatable, CustomStringConvertible {
        case number(Int)
        case text(String)
        public var description: String {
            switch self {
            case .number(let n): return String(n)
            case .text(let t): return t
            }
        }
    }

    public struct Label: Sendable, Equatable {
        public var critique: String
        public var score: Double
        public init(critique: String, score: Double) {
            self.critique = critique
            self.score = score
        }
    }

    public var idx: Index
    public var question: String
    public var preference: String
    /// Step texts without their `Step k:` prefix.
    public var steps: [String]
    public var labels: [Label]
    public var finalScore: Double

    public init(idx: Index, question: String, preference: String, steps: [String], labels: [Label], finalScore: Double) {
        self.idx = idx
        self.question = question
        self.preference = preference
        self.steps = steps
        self.labels = labels
        self.finalScore = finalScore
    }

    /// `process` as written: `Step k: <text>` lines joined by newlines.
    public var process: String {
        steps.enumerated().map { "Step \($0.offset + 1): \($0.element)" }.joined(separator: "\n")
    }

    // MARK: - JSON

    public init(json object: [String: Any]) throws {
        let check = JSONFieldCheck()
        var index: Index? = nil
        if let text = object["idx"] as? String { index = .text(text) }
        else if let id = JSONFieldCheck.identifier(object["idx"]), let number = Int(id) { index = .number(number) }
        else { check.problem("$.idx is missing (an integer or a string is required)") }
        let question = check.string(object, "question", at: "$")
        let preference = check.string(object, "preference", at: "$", allowEmpty: true)
        var steps: [String] = []
        switch object["process"] {
        case let text as String:
            do { steps = try Self.parseSteps(text) } catch { check.problem("$.process: \(error)") }
        case let list as [Any]:
            for (i, item) in list.enumerated() {
                guard let text = item as? String else { check.problem("$.process[\(i)] must be a string"); continue }
                if let parsed = try? Self.parseSteps(text), parsed.count == 1 { steps.append(parsed[0]) }
                else { steps.append(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        default:
            check.problem("$.process must be a string of 'Step k: ...' lines")
        }
        var labels: [Label] = []
        if let items = check.array(object, "label", at: "$", count: 0...1000) {
            for (i, item) in items.enumerated() {
                guard let fields = item as? [String: Any] else { check.problem("$.label[\(i)] must be an object"); continue }
                let critique = check.string(fields, "critique", at: "$.label[\(i)]", allowEmpty: true)
                let score = check.number(fields, "score", at: "$.label[\(i)]", in: -1...1)
                if let critique, let score { labels.append(Label(critique: critique, score: score)) }
            }
            if check.problems.isEmpty && labels.count != steps.count {
                check.problem("$.label has \(labels.count) entries for \(steps.count) steps")
            }
        }
        let finalScore = check.number(object, "final_score", at: "$", in: -1...1)
        if steps.isEmpty && check.problems.isEmpty { check.problem("$.process has no steps") }
        guard check.problems.isEmpty, let index, let question, let preference, let finalScore else {
            throw SchemaViolation(check.problems)
        }
        self.init(idx: index, question: question, preference: preference, steps: steps, labels: labels, finalScore: finalScore)
    }

    public func jsonObject() -> [String: Any] {
        var object: [String: Any] = [
            "question": question, "preference": preference, "process": process, "final_score": finalScore,
            "label": labels.map { ["critique": $0.critique, "score": $0.score] as [String: Any] },
        ]
        switch idx {
        case .number(let n): object["idx"] = n
        case .text(let t): object["idx"] = t
        }
        return object
    }

    /// Splits `Step 1: ... Step N: ...` text into step texts; the numbers must run 1, 2, ….
    public static func parseSteps(_ process: String) throws -> [String] {
        var steps: [String] = []
        var current: String? = nil
        for rawLine in process.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let (number, rest) = stepPrefix(line) {
                if let current { steps.append(current.trimmingCharacters(in: .whitespacesAndNewlines)) }
                guard number == steps.count + 1 else {
                    throw SchemaViolation(["step \(number) follows step \(steps.count); steps must be numbered 1, 2, … in order"])
                }
                current = rest
            } else if current != nil {
                current! += "\n" + line
            } else if !line.isEmpty {
                throw SchemaViolation(["text before 'Step 1:': '\(line.prefix(60))'"])
            }
        }
        if let current { steps.append(current.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return steps
    }

    /// `Step 12: rest` or `Step 12. rest` → (12, "rest").
    static func stepPrefix(_ line: String) -> (Int, String)? {
        guard line.lowercased().hasPrefix("step") else { return nil }
        var rest = line.dropFirst(4)
        guard rest.first == " " else { return nil }
        rest = rest.drop(while: { $0 == " " })
        let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        rest = rest.dropFirst(digits.count).drop(while: { $0 == " " })
        guard let mark = rest.first, mark == ":" || mark == "." else { return nil }
        return (number, String(rest.dropFirst()).trimmingCharacters(in: .whitespaces))
    }

    // MARK: - Ours

    /// The query and an annotation whose reasoning chain holds the steps (stages spread in
    /// order) and whose thought tree is the chain as a path under a root "0" that carries
    /// `final_score`. Other annotation fields stay empty.
    public func toQueryAndAnnotation(backend: String = "deeppref-rm") -> (query: QuerySubmitted, annotation: CouncilAnnotation) {
        let queryID = Self.queryID(for: idx)
        let query = QuerySubmitted(queryID: queryID,
                                   profile: UserProfile(profileID: "profile-" + queryID, statedPreference: preference),
                                   question: question)
        let chain = zip(steps, labels).enumerated().map { i, pair in
            ReasoningStep(index: i + 1, stage: DeepPrefRawRecord.stage(i, of: steps.count), text: pair.0,
                          critique: pair.1.critique, score: pair.1.score)
        }
        var tree = [ThoughtNode(nodeID: "0", parentID: nil, persona: nil, thought: question, reasoning: "final score",
                                score: finalScore, children: chain.isEmpty ? [] : ["1"], pruned: false)]
        for step in chain {
            tree.append(ThoughtNode(nodeID: String(step.index), parentID: String(step.index - 1), persona: nil,
                                    thought: step.text, reasoning: step.critique, score: step.score,
                                    children: step.index < chain.count ? [String(step.index + 1)] : [], pruned: false))
        }
        let annotation = CouncilAnnotation(queryID: queryID, backend: backend, inferredPreferences: [], personaCritiques: [],
                                           thoughtTree: tree, reasoningChain: chain, alignedAnswer: "",
                                           superficialAnswer: "", rubric: [])
        return (query, annotation)
    }

    /// From our query and annotation: the reasoning chain's steps and critiques; `final_score` is
    /// the root node's score when the tree has a root (the council scores the best chain there),
    /// otherwise the mean step score.
    public init(query: QuerySubmitted, annotation: CouncilAnnotation) {
        let chain = annotation.reasoningChain.sorted { $0.index < $1.index }
        let root = annotation.thoughtTree.first { $0.nodeID == "0" }
        let mean = chain.isEmpty ? 0 : chain.map(\.score).reduce(0, +) / Double(chain.count)
        self.init(idx: Self.index(for: query.queryID), question: query.question, preference: query.profile.statedPreference,
                  steps: chain.map(\.text), labels: chain.map { Label(critique: $0.critique, score: $0.score) },
                  finalScore: root?.score ?? mean)
    }

    static let queryIDPrefix = "deeppref-rm-"

    static func queryID(for idx: Index) -> String {
        switch idx {
        case .number(let n): return queryIDPrefix + String(n)
        case .text(let t): return t
        }
    }

    static func index(for queryID: String) -> Index {
        if queryID.hasPrefix(queryIDPrefix), let n = Int(queryID.dropFirst(queryIDPrefix.count)) { return .number(n) }
        return .text(queryID)
    }

    // MARK: - Files

    public static func read(_ url: URL) -> RecordBatch<DeepPrefRewardRecord> {
        JSONRecordReader.read(url) { try DeepPrefRewardRecord(json: $0.object) }
    }
}
