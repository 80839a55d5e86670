import Critique
import DeepPref
import Events
import Foundation

/// The rule-based step judge: labels every reasoning step of a response, and its answer, with a
/// critique sentence and a score in the DESIGN §6 bands, from the query's council annotation, its
/// ground truth and the knowledge pack. It is what the Pers-GenPRM is trained to imitate and the
/// cheap `oracle` backend of the critic. Every rule is spelled out in Docs/algorithms.md
/// ("The step oracle"); the rules are applied in the order written there, and the first that
/// fires decides a step.
public struct StepOracle: Sendable {
    public let pack: KnowledgePack
    public let judge: BuiltinJudge
    public let gate: FormatGate
    private let detector: CueDetector
    private let dimensions: [Dimension]
    private let negators: [PhrasePattern]
    private let literalMarkers: [PhrasePattern]

    /// What the rules know about one pack dimension.
    private struct Dimension: Sendable {
        var name: String
        var label: String
        var labelPatterns: [PhrasePattern]
        var risks: [PhrasePattern]
        var defences: [PhrasePattern]
        var violations: [PhrasePattern]
    }

    /// Phrases of a step that takes the request literally (the council's "Literal reading").
    public static let literalReadingMarkers = ["literal reading", "only what the request says", "generic answer only",
                                               "the generic answer"]

    public init(pack: KnowledgePack) {
        self.pack = pack
        judge = BuiltinJudge(pack: pack)
        gate = FormatGate(pack: pack)
        detector = CueDetector(pack: pack)
        dimensions = pack.dimensions.map { d in
            let labels = Set([d.label, d.name.replacingOccurrences(of: "_", with: " ")])
            return Dimension(name: d.name, label: d.label, labelPatterns: labels.sorted().map(PhrasePattern.init),
                             risks: d.latentRisks.map { PhrasePattern(Self.core($0)) },
                             defences: d.defensiveStrategies.map { PhrasePattern(Self.core($0)) },
                             violations: (d.violateFragments.map(Self.core) + d.violationMarkers).map(PhrasePattern.init))
        }
        negators = pack.lexicon.negators.map(PhrasePattern.init)
        literalMarkers = Self.literalReadingMarkers.map(PhrasePattern.init)
    }

    // MARK: - The critique

    /// The oracle's critique chain of a response: one verdict per step, the answer's verdict and
    /// the final score.
    public func critique(_ item: AnnotatedQuery, steps: [String], answer: String) -> CritiqueChain {
        let context = Context(item, oracle: self)
        var verdicts: [StepVerdict] = []
        var seenPreferences = false
        var defended: Set<String> = []
        for (i, step) in steps.enumerated() {
            var (kind, critique, score, dims) = judgeStep(step, index: i, steps: steps, context: context)
            if kind == .preferences { seenPreferences = true }
            if !seenPreferences && !context.relevant.isEmpty && [.risks, .defence, .plan].contains(kind) && score > 0.3 {
                score = 0.3
                critique = "out of order: " + critique.dropTrailingPeriod() + " before naming any preference."
            }
            if kind == .defence || kind == .plan || kind == .preferences { defended.formUnion(dims) }
            verdicts.append(StepVerdict(index: i + 1, critique: critique, score: Self.rounded(score)))
        }
        let answerVerdict = judgeAnswer(answer, steps: steps, context: context, defended: defended)
        var final = CritiqueChain.aggregateFinalScore(stepScores: verdicts.map(\.score), answerScore: answerVerdict.score)
        if !gate.check(steps: steps, answer: answer).passed { final = min(final, FormatGate.rejectedScore) }
        return CritiqueChain(stepVerdicts: verdicts, answerVerdict: answerVerdict, finalScore: Self.rounded(final))
    }

    /// Scores rounded to 0.05, the resolution the PRM is trained to write.
    static func rounded(_ s: Double) -> Double { (min(1, max(-1, s)) * 20).rounded() / 20 }

    // MARK: - Steps

    enum StepKind { case violation, foreignQuote, repeated, stuffed, hallucinated, preferences, risks, defence, plan,
                    surface, literal, vague }

    /// What every rule needs to know about the query.
    private struct Context {
        let item: AnnotatedQuery
        /// Ground truth ∪ council-inferred dimensions, ground truth first.
        let relevant: [String]
        /// `relevant` ∪ what the cue detector finds in the question and the stated preference.
        let supported: Set<String>
        let questionLower: String
        let preferenceLower: String

        init(_ item: AnnotatedQuery, oracle: StepOracle) {
            self.item = item
            var names = item.query.hiddenPreferences
            for p in item.annotation.inferredPreferences where !names.contains(p.dimension) { names.append(p.dimension) }
            relevant = names
            supported = Set(names + oracle.detector.scan(item.query.question).findings.filter(\.inferred).map(\.dimension)
                            + oracle.detector.scan(item.query.profile.statedPreference).findings.filter(\.inferred).map(\.dimension))
            questionLower = StepOracle.normalized(item.query.question)
            preferenceLower = StepOracle.normalized(item.query.profile.statedPreference)
        }
    }

    private func judgeStep(_ step: String, index: Int, steps: [String],
                           context: Context) -> (StepKind, String, Double, Set<String>) {
        let text = ScannedText(step)
        let relevant = context.relevant
        // Dimensions the step names itself: quoted cues and hyphenated words ("time-limited") do not count.
        let own = ScannedText(Self.unquotedWords(step))
        let named = dimensions.filter { d in d.labelPatterns.contains(where: own.contains) }.map(\.name)
        let quotes = Self.quotes(in: step)
        let foreign = quotes.filter { q in
            let n = Self.normalized(q)
            return !n.isEmpty && !context.questionLower.contains(n) && !context.preferenceLower.contains(n)
        }

        // 1. Violation: proposes what a relevant preference (or the stated one) rules out.
        let violated = dimensions.filter { d in relevant.contains(d.name) && d.violations.contains { unnegated($0, in: text) } }
        if let first = violated.first {
            return (.violation, "proposes what the hidden preference for \(first.label) rules out.", -0.6, [])
        }
        // 2. Foreign quote: quotes wording the query does not contain (spliced from elsewhere).
        if !foreign.isEmpty {
            return (.foreignQuote, "quotes wording that is not in the query.", -0.5, [])
        }
        // 3. Repetition: the same step as an earlier one.
        let key = Self.normalized(step)
        if let earlier = steps[..<index].firstIndex(where: { Self.normalized($0) == key }) {
            return (.repeated, "repeats step \(earlier + 1); adds nothing.", -0.3, [])
        }
        // 4. Keyword stuffing: lists more dimensions than the query could support.
        if named.count >= FormatGate.stuffedLabelCount && named.count > relevant.count + 2 {
            return (.stuffed, "lists preferences without grounding them; keyword stuffing.", -0.5, [])
        }
        // 5. Hallucination: ties to the user a preference nothing in the query supports.
        let unsupported = named.filter { !context.supported.contains($0) }
        let risksFor = dimensions.filter { d in d.risks.contains(where: text.contains) }.map(\.name)
        let defencesFor = dimensions.filter { d in d.defences.contains(where: text.contains) }.map(\.name)
        let foreignWork = (risksFor + defencesFor).filter { !context.supported.contains($0) }
        if let d = (unsupported + foreignWork).first {
            return (.hallucinated, "attributes an unsupported preference for \(label(d)).", -0.4, [])
        }
        let lower = Self.normalized(step)
        // 6. Preferences: names relevant dimensions; grounded when it quotes the query.
        let namesWithQuotes = !named.isEmpty && !quotes.isEmpty && risksFor.isEmpty && defencesFor.isEmpty
            && !lower.hasPrefix("plan") && !lower.hasPrefix("surface request")
        if lower.hasPrefix("implicit preference") || namesWithQuotes {
            let found = relevant.filter(named.contains)
            guard !relevant.isEmpty else {
                return (.preferences, "infers preferences the query gives no cue for.", -0.3, [])
            }
            guard !found.isEmpty else { return (.vague, "vague: names no preference the query implies.", 0.2, []) }
            let missed = relevant.filter { !found.contains($0) }
            let coverage = Double(found.count) / Double(relevant.count)
            if quotes.isEmpty {
                return (.preferences, "names \(list(found)) without quoting a cue\(missing(missed)).", 0.3 + 0.2 * coverage, Set(found))
            }
            return (.preferences, "grounds \(list(found)) in quoted cues\(missing(missed)).", 0.5 + 0.4 * coverage, Set(found))
        }
        // 7. Risks: names the latent risks of relevant dimensions.
        if !risksFor.isEmpty {
            let found = relevant.filter(risksFor.contains)
            let missed = relevant.filter { !found.contains($0) }
            let coverage = relevant.isEmpty ? 1 : Double(found.count) / Double(relevant.count)
            return (.risks, "names the real risks for \(list(found))\(missing(missed)).", 0.5 + 0.4 * coverage, [])
        }
        // 8. Defence: proposes strategies that protect relevant dimensions.
        if !defencesFor.isEmpty {
            let found = relevant.filter(defencesFor.contains)
            let missed = relevant.filter { !found.contains($0) }
            let coverage = relevant.isEmpty ? 1 : Double(found.count) / Double(relevant.count)
            return (.defence, "proposes defences consistent with \(list(found))\(missing(missed)).", 0.5 + 0.4 * coverage,
                    Set(found))
        }
        // 9. Plan: a plan that honours the relevant dimensions.
        if lower.hasPrefix("plan") {
            let found = relevant.filter(named.contains)
            if relevant.isEmpty { return (.plan, "plans a direct answer; nothing hidden to honour.", 0.6, []) }
            if found.isEmpty {
                return (.plan, "plans a generic answer; ignores \(list(relevant)).", 0.1, [])
            }
            let missed = relevant.filter { !found.contains($0) }
            let coverage = Double(found.count) / Double(relevant.count)
            return (.plan, "plans an answer that honours \(list(found))\(missing(missed)).", 0.5 + 0.4 * coverage, Set(found))
        }
        // 10. Literal reading: takes the request at its word.
        if literalMarkers.contains(where: text.contains) {
            if relevant.isEmpty { return (.literal, "reads the request literally; no cue implies more.", 0.5, []) }
            return (.literal, "takes the request literally; ignores \(list(relevant)).", 0.1, [])
        }
        // 11. Surface: restates the request.
        if lower.hasPrefix("surface request") || quotes.contains(where: { !$0.isEmpty }) {
            return (.surface, "restates the request; necessary but surface-level.", 0.5, [])
        }
        // 12. Otherwise vague.
        return (.vague, "vague: names no preference, cue, risk or defence.", 0.2, [])
    }

    // MARK: - The answer

    private func judgeAnswer(_ answer: String, steps: [String], context: Context, defended: Set<String>) -> AnswerVerdict {
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return AnswerVerdict(critique: "no answer.", score: -1) }
        let e = judge.evaluate(query: context.item.query, annotation: context.item.annotation, response: trimmed)
        let v = e.verdict
        var score = BuiltinJudge.reward(v, coverage: e.coverage)
        var parts: [String] = []
        // A response the gate rejects, for its steps or its answer: the answer's verdict says why,
        // so the chain's final score follows from its verdicts.
        if case let .rejected(reason) = gate.check(steps: steps, answer: trimmed) {
            return AnswerVerdict(critique: "\(reason).", score: FormatGate.rejectedScore)
        }
        let violated = (v.rationale["violates_preference"] ?? "").replacingOccurrences(of: "violates: ", with: "")
        if v.violatesPreference {
            let contradicted = defended.filter { violated.contains($0) }
            parts.append(contradicted.isEmpty ? "violates \(readable(violated))"
                                              : "contradicts its own steps on \(list(contradicted.sorted()))")
            if !contradicted.isEmpty { score -= 0.2 }
        } else if v.acknowledgesPreference {
            parts.append("follows the stated preference")
        } else {
            parts.append("ignores the stated preference")
        }
        let addressed = context.relevant.filter(v.addressedDimensions.contains)
        let missed = context.relevant.filter { !addressed.contains($0) }
        if !addressed.isEmpty { parts.append("addresses \(list(addressed))") }
        if !missed.isEmpty { parts.append("misses \(list(missed))") }
        if v.hallucinatesPreference { parts.append("assumes a preference the user never showed") }
        if v.misleading && !v.violatesPreference { parts.append("over-claims") }
        if !v.helpful { parts.append("not a usable answer") }
        if let last = trimmed.last, !".!?\"')".contains(last) {
            parts.append("stops mid-sentence")
            score -= 0.3
        }
        return AnswerVerdict(critique: parts.joined(separator: "; ") + ".", score: Self.rounded(score))
    }

    // MARK: - Helpers

    private func label(_ name: String) -> String { dimensions.first { $0.name == name }?.label ?? name }

    private func list(_ names: [String]) -> String {
        let labels = names.map(label)
        switch labels.count {
        case 0: return "nothing"
        case 1: return labels[0]
        default: return labels.dropLast().joined(separator: ", ") + " and " + labels.last!
        }
    }

    private func missing(_ missed: [String]) -> String { missed.isEmpty ? "" : "; misses \(list(missed))" }

    private func readable(_ violated: String) -> String {
        violated.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .map { $0 == "stated preference" ? $0 : label($0) }.joined(separator: ", ")
    }

    /// A match counts unless a negator appears among the six words before it.
    private func unnegated(_ p: PhrasePattern, in t: ScannedText) -> Bool {
        for m in t.matches(of: p) {
            let before = t.text(max(0, m.lowerBound - 48)..<m.lowerBound)
            let window = ScannedText(before.split(separator: " ").suffix(6).joined(separator: " "))
            if !negators.contains(where: window.contains) { return true }
        }
        return false
    }

    /// A pack sentence without its final period, so it matches inside a longer step.
    static func core(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespaces)
        while let last = t.last, ".!?".contains(last) { t.removeLast() }
        return t
    }

    /// Lower-cased, curly quotes straightened, runs of white space collapsed, end punctuation dropped.
    static func normalized(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in s.lowercased().unicodeScalars {
            switch scalar {
            case " ", "\n", "\t", "\r":
                pendingSpace = !out.isEmpty
            default:
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(scalar == "\u{2019}" || scalar == "\u{2018}" ? "'" : scalar)
            }
        }
        while let last = out.last, last == "." || last == "!" || last == "?" { out.removeLast() }
        return String(out)
    }

    /// The text outside double quotes, without hyphenated words.
    static func unquotedWords(_ s: String) -> String {
        var out = ""
        var inside = false
        for ch in s {
            if ch == "\"" || ch == "“" || ch == "”" { inside.toggle(); out.append(" "); continue }
            if !inside { out.append(ch) }
        }
        return out.split(separator: " ").filter { !$0.contains("-") }.joined(separator: " ")
    }

    /// The spans between double quotes (straight or curly).
    static func quotes(in s: String) -> [String] {
        var out: [String] = []
        var current: String?
        for ch in s {
            if ch == "\"" || ch == "“" || ch == "”" {
                if let c = current {
                    out.append(c)
                    current = nil
                } else {
                    current = ""
                }
            } else if current != nil {
                current!.append(ch)
            }
        }
        return out
    }
}

private extension String {
    func dropTrailingPeriod() -> String { hasSuffix(".") ? String(dropLast()) : self }
}
