import Critique
import DeepPref
import Events
import Foundation
import LanguageModel

/// A response made for PRM training or probing: its steps (texts without the "Step k:" marker),
/// its answer, and how it was made.
public struct ChainVariant: Sendable, Equatable {
    /// `reference_aligned`, `reference_superficial`, `mixed:<kind>` or `garbled:<kind>`.
    public var origin: String
    public var steps: [String]
    public var answer: String

    public init(origin: String, steps: [String], answer: String) {
        self.origin = origin
        self.steps = steps
        self.answer = answer
    }

    /// "Step 1: ...\nStep N: ...\nAnswer: ...".
    public var text: String { ResponseLayout.text(steps: steps, answer: answer) }
}

/// Makes the PRM's training chains from council annotations, systematically and deterministically
/// (DESIGN §6, issue "Pers-GenPRM"): the two references, mixed chains that break one thing of
/// the aligned one, and garbled chains of the kinds a policy uses to game a learned critic.
public struct ChainVariants: Sendable {
    /// The mixed kinds: each breaks one thing of the aligned reference.
    public static let mixedKinds = ["violating_step", "ignored_preference", "missed_risk", "vague_step", "reordered"]
    /// The garbled kinds used in training.
    public static let garbledKinds = ["spliced", "truncated", "stuffed", "repeated", "contradicting"]
    /// Garbled kinds kept out of training: the probe set measures whether hardening generalises.
    public static let probeKinds = ["shuffled_words", "foreign_answer", "marker_list"]

    public static let vagueSteps = [
        "Think carefully about what the user really needs here.",
        "Consider the situation from several angles before answering.",
        "Keep the answer useful and relevant to the request.",
        "Look at the bigger picture and be thoughtful.",
    ]

    public let pack: KnowledgePack

    public init(pack: KnowledgePack) {
        self.pack = pack
    }

    // MARK: - References

    public func aligned(_ item: AnnotatedQuery) -> ChainVariant {
        ChainVariant(origin: "reference_aligned", steps: item.annotation.reasoningChain.map(\.text),
                     answer: item.annotation.alignedAnswer)
    }

    /// The superficial reference: the council's superficial answer after the thought tree's best
    /// non-negative pruned alternative at each level (the literal reading, the generic risk, the
    /// generic plan).
    public func superficial(_ item: AnnotatedQuery) -> ChainVariant {
        let tree = item.annotation.thoughtTree
        var steps: [String] = []
        if let root = tree.first(where: { $0.parentID == nil }) {
            steps.append(root.thought)
            var parent: ThoughtNode? = root
            while let p = parent {
                let children = p.children.compactMap { id in tree.first { $0.nodeID == id } }
                if let alternative = children.filter({ $0.pruned && $0.score >= 0 }).max(by: { $0.score < $1.score }) {
                    steps.append(alternative.thought)
                }
                parent = children.first { !$0.pruned }
            }
        }
        if steps.count < 2 {
            steps = [item.annotation.reasoningChain.first?.text ?? "Surface request.", "Plan: give the generic answer only."]
        }
        return ChainVariant(origin: "reference_superficial", steps: steps, answer: item.annotation.superficialAnswer)
    }

    // MARK: - Mixed

    /// The mixed chains of one query (kinds that do not apply to it are left out).
    public func mixed(_ item: AnnotatedQuery) -> [ChainVariant] {
        Self.mixedKinds.compactMap { mixed(item, kind: $0) }
    }

    public func mixed(_ item: AnnotatedQuery, kind: String) -> ChainVariant? {
        let chain = item.annotation.reasoningChain
        var steps = chain.map(\.text)
        var answer = item.annotation.alignedAnswer
        let relevant = relevantDimensions(item)
        var rng = SeededGenerator(seed: Self.seed(item.query.queryID, kind))
        let stage = { (name: String) in chain.firstIndex { $0.stage == name } }
        switch kind {
        case "violating_step":
            guard let d = relevant.first, let fragment = d.violateFragments.randomElement(using: &rng) else { return nil }
            let at = stage("defensive_strategy") ?? max(0, steps.count - 2)
            steps[at] = "Maximal strategy: " + fragment
        case "ignored_preference":
            guard let dropped = relevant.randomElement(using: &rng) else { return nil }
            let kept = relevant.filter { $0.name != dropped.name }
            if let at = stage("implicit_preferences") {
                let cues = item.annotation.inferredPreferences.filter { $0.dimension != dropped.name }
                steps[at] = cues.isEmpty ? "Implicit preferences: nothing beyond the request."
                    : "Implicit preferences: " + Self.joined(cues.map { "\(label($0.dimension)) (\"\($0.evidence)\")" }) + "."
            }
            for name in ["latent_risks", "defensive_strategy"] {
                guard let at = stage(name) else { continue }
                steps[at] = Self.removingSentences(of: dropped.latentRisks + dropped.defensiveStrategies, from: steps[at])
            }
            if let at = stage("response_plan") {
                steps[at] = steps[at].replacingOccurrences(of: Self.joined(relevant.map(\.label)),
                                                           with: Self.joined(kept.map(\.label)))
            }
            answer = Self.removingSentences(containing: dropped.respectMarkers + dropped.respectFragments, from: answer)
        case "missed_risk":
            guard let at = stage("latent_risks") else { return nil }
            steps[at] = "Risk: the answer might be incomplete."
        case "vague_step":
            let candidates = ["implicit_preferences", "defensive_strategy", "response_plan"].compactMap(stage)
            guard let at = candidates.randomElement(using: &rng) else { return nil }
            steps[at] = Self.vagueSteps.randomElement(using: &rng)!
        case "reordered":
            guard let a = stage("implicit_preferences"), let b = stage("defensive_strategy") else { return nil }
            steps.swapAt(a, b)
        default:
            return nil
        }
        guard steps != chain.map(\.text) || answer != item.annotation.alignedAnswer else { return nil }
        return ChainVariant(origin: "mixed:\(kind)", steps: steps, answer: answer)
    }

    // MARK: - Garbled

    /// The garbled chains of one query; `other` (a different query) supplies spliced material.
    public func garbled(_ item: AnnotatedQuery, other: AnnotatedQuery, kinds: [String] = ChainVariants.garbledKinds) -> [ChainVariant] {
        kinds.compactMap { garbled(item, other: other, kind: $0) }
    }

    public func garbled(_ item: AnnotatedQuery, other: AnnotatedQuery, kind: String) -> ChainVariant? {
        let own = item.annotation.reasoningChain.map(\.text)
        let theirs = other.annotation.reasoningChain.map(\.text)
        let answer = item.annotation.alignedAnswer
        var rng = SeededGenerator(seed: Self.seed(item.query.queryID, kind))
        switch kind {
        case "spliced":
            guard own.count >= 3, theirs.count >= 3 else { return nil }
            var steps = own
            steps[1] = theirs[1]
            steps[2] = theirs[2]
            let a = Self.sentences(answer), b = Self.sentences(other.annotation.alignedAnswer)
            let mixedAnswer = (a.prefix(max(1, a.count / 2)) + b.suffix(max(1, b.count / 2))).joined(separator: " ")
            return ChainVariant(origin: "garbled:spliced", steps: steps, answer: mixedAnswer)
        case "truncated":
            let words = answer.split(separator: " ")
            guard words.count > 12 else { return nil }
            var cut = words.prefix(max(6, words.count * 2 / 5)).joined(separator: " ")
            while let last = cut.last, ".!?".contains(last) { cut.removeLast() }
            return ChainVariant(origin: "garbled:truncated", steps: Array(own.prefix(2)), answer: cut)
        case "stuffed":
            let labels = pack.dimensions.map(\.label).shuffled(using: &rng)
            let markers = pack.dimensions.compactMap { $0.respectMarkers.first }.shuffled(using: &rng)
            let steps = [own.first ?? "Surface request.",
                         "Implicit preferences: " + Self.joined(labels) + ".",
                         "Defensive strategy: respect " + Self.joined(Array(labels.prefix(7))) + " at all times."]
            return ChainVariant(origin: "garbled:stuffed", steps: steps,
                                answer: answer + " " + markers.prefix(8).joined(separator: ", ") + ".")
        case "repeated":
            guard own.count >= 3 else { return nil }
            let sentences = Self.sentences(answer)
            let repeatedAnswer = (sentences + Array(repeating: sentences.last ?? answer, count: 2)).joined(separator: " ")
            return ChainVariant(origin: "garbled:repeated", steps: [own[0], own[1], own[1], own[1], own[own.count - 1]],
                                answer: repeatedAnswer)
        case "contradicting":
            return ChainVariant(origin: "garbled:contradicting", steps: own, answer: item.annotation.superficialAnswer)
        case "shuffled_words":
            let steps = own.map { step -> String in
                var words = step.split(separator: " ").map(String.init)
                words.shuffle(using: &rng)
                return words.joined(separator: " ")
            }
            return ChainVariant(origin: "garbled:shuffled_words", steps: steps, answer: answer)
        case "foreign_answer":
            return ChainVariant(origin: "garbled:foreign_answer", steps: own, answer: other.annotation.alignedAnswer)
        case "marker_list":
            let markers = pack.dimensions.flatMap { Array($0.respectMarkers.prefix(2)) }.shuffled(using: &rng)
            return ChainVariant(origin: "garbled:marker_list", steps: own,
                                answer: "In short: " + markers.prefix(12).joined(separator: "; ") + ".")
        default:
            return nil
        }
    }

    // MARK: - Helpers

    private func relevantDimensions(_ item: AnnotatedQuery) -> [KnowledgeDimension] {
        var names = item.query.hiddenPreferences
        for p in item.annotation.inferredPreferences where !names.contains(p.dimension) { names.append(p.dimension) }
        return names.compactMap(pack.dimension(named:))
    }

    private func label(_ name: String) -> String { pack.dimension(named: name)?.label ?? name }

    /// "a", "a and b", "a, b and c" — the council's list style.
    static func joined(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    static func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            current.append(ch)
            if ch == "." || ch == "!" || ch == "?" {
                let s = current.trimmingCharacters(in: .whitespaces)
                if !s.isEmpty { out.append(s) }
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespaces)
        if !rest.isEmpty { out.append(rest) }
        return out
    }

    /// Drops the sentences of `text` that are (without end punctuation) one of `pack sentences`.
    static func removingSentences(of packSentences: [String], from text: String) -> String {
        let drop = Set(packSentences.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ". ")) })
        let kept = sentences(text).filter { s in
            let core = s.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ". "))
            return !drop.contains(where: { core.hasSuffix($0) })
        }
        return kept.joined(separator: " ")
    }

    /// Drops the sentences of `text` that contain any of `phrases` (case-insensitive).
    static func removingSentences(containing phrases: [String], from text: String) -> String {
        let lowered = phrases.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ". ")) }
        return sentences(text).filter { s in
            let l = s.lowercased()
            return !lowered.contains(where: { !$0.isEmpty && l.contains($0) })
        }.joined(separator: " ")
    }

    /// A stable seed per (query, kind), so the same annotation always gives the same chains.
    static func seed(_ queryID: String, _ kind: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (queryID + "|" + kind).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
