import DeepPref
import Events

/// The rule-based oracle judge: answers the eight checks from the annotation's rubric, the pack and
/// the query's ground-truth hidden preferences. Each rule is spelled out in Docs/deeppref.md.
/// Pure and cheap (phrase scans over one response), so a trainer can call ``score(query:annotation:response:)``
/// on every batch.
public struct BuiltinJudge: PreferenceJudge {
    public let name = "builtin"
    public let pack: KnowledgePack
    private let detector: CueDetector
    private let negators: [PhrasePattern]
    private let attribution: [PhrasePattern]
    private let alternative: [PhrasePattern]
    private let reasoning: [PhrasePattern]
    private let overclaim: [PhrasePattern]
    private let refusal: [PhrasePattern]

    /// Words a helpful answer must have at least.
    public static let minimumHelpfulWords = 20

    public init(pack: KnowledgePack) {
        self.pack = pack
        detector = CueDetector(pack: pack)
        let l = pack.lexicon
        negators = l.negators.map(PhrasePattern.init)
        attribution = l.attributionMarkers.map(PhrasePattern.init)
        alternative = l.alternativeMarkers.map(PhrasePattern.init)
        reasoning = l.reasoningMarkers.map(PhrasePattern.init)
        overclaim = l.overclaimMarkers.map(PhrasePattern.init)
        refusal = l.refusalMarkers.map(PhrasePattern.init)
    }

    public func judge(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) async throws -> JudgeVerdict {
        evaluate(query: query, annotation: annotation, response: response).verdict
    }

    /// Synchronous form of ``judge(query:annotation:response:)``.
    public func verdict(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) -> JudgeVerdict {
        evaluate(query: query, annotation: annotation, response: response).verdict
    }

    /// A reward in [−1, 1]: +0.1 helpful (−0.4 if not), +0.2 acknowledges, −0.5 violates,
    /// −0.3 hallucinates, −0.2 misleading, +0.4 × share of relevant dimensions addressed
    /// (+0.2 for acknowledging when there are none), +0.1 innovative, +0.1 thoughtful.
    public func score(query: QuerySubmitted, annotation: CouncilAnnotation, response: String) -> Double {
        let e = evaluate(query: query, annotation: annotation, response: response)
        return Self.reward(e.verdict, coverage: e.coverage)
    }

    static func reward(_ v: JudgeVerdict, coverage: Double?) -> Double {
        var s = v.helpful ? 0.1 : -0.4
        if v.acknowledgesPreference { s += 0.2 }
        if v.violatesPreference { s -= 0.5 }
        if v.hallucinatesPreference { s -= 0.3 }
        if v.misleading { s -= 0.2 }
        if let c = coverage { s += 0.4 * c } else if v.acknowledgesPreference { s += 0.2 }
        if v.innovative { s += 0.1 }
        if v.thoughtful { s += 0.1 }
        return min(1, max(-1, s))
    }

    // MARK: - Rules

    /// Relevant dimensions: ground truth ∪ council-inferred, each with its respect and violation markers.
    private struct Relevant {
        var name: String
        var respect: [PhrasePattern]
        var violation: [PhrasePattern]
    }

    func evaluate(query: QuerySubmitted, annotation: CouncilAnnotation,
                  response: String) -> (verdict: JudgeVerdict, coverage: Double?) {
        let r = ScannedText(response)
        let preference = query.profile.statedPreference
        let stated = query.topic.flatMap { pack.topic(named: $0) }?.statedPreferences.first { $0.text == preference }
        let groundTruth = query.hiddenPreferences
        var names = groundTruth
        for p in annotation.inferredPreferences where !names.contains(p.dimension) { names.append(p.dimension) }
        let relevant: [Relevant] = names.compactMap { n in
            if let item = annotation.rubric.first(where: { $0.dimension == n }) {
                return Relevant(name: n, respect: item.evidenceOfRespect.map(PhrasePattern.init),
                                violation: item.evidenceOfViolation.map(PhrasePattern.init))
            }
            guard let d = pack.dimension(named: n) else { return nil }
            return Relevant(name: n, respect: d.respectMarkers.map(PhrasePattern.init),
                            violation: d.violationMarkers.map(PhrasePattern.init))
        }
        var why: [String: String] = [:]

        // 1. Acknowledges: the focus phrase appears, or ≥ half of its content words (by 4-letter stem).
        let responseStems = Set(ContentWords.words(response, stopwords: pack.lexicon.stopwords).map(ContentWords.stem))
        var acknowledges = false
        if !preference.isEmpty {
            if let s = stated, r.contains(PhrasePattern(s.focus)) {
                acknowledges = true
            } else {
                let target = stated.map { ContentWords.words($0.focus, stopwords: pack.lexicon.stopwords) }
                    ?? ContentWords.salient(preference, stopwords: pack.lexicon.stopwords)
                let hit = target.filter { responseStems.contains(ContentWords.stem($0)) }.count
                acknowledges = !target.isEmpty && Double(hit) >= 0.5 * Double(target.count)
            }
        }
        why["acknowledges_preference"] = acknowledges ? "mentions what the stated preference is about"
                                                      : "does not mention the stated preference"

        // 2. Violates: an un-negated violation marker of the stated preference or of a relevant dimension.
        var violated: [String] = []
        if let s = stated, unnegatedMatch(PhrasePattern(s.violation), in: r) { violated.append("stated preference") }
        for d in relevant where d.violation.contains(where: { unnegatedMatch($0, in: r) }) { violated.append(d.name) }
        let violates = !violated.isEmpty
        why["violates_preference"] = violates ? "violates: \(violated.joined(separator: ", "))" : "no un-negated violation marker"

        // Addressed dimensions: any respect marker present.
        let addressed = relevant.filter { d in d.respect.contains(where: r.contains) }.map(\.name).sorted()

        // 3. Hallucinates: a sentence ties to the user ("since you ...") a dimension that neither the
        // question, the stated preference, the ground truth nor the council supports.
        let supported = Set(names + detector.scan(query.question).findings.map(\.dimension)
                            + detector.scan(preference).findings.map(\.dimension))
        var hallucinated: [String] = []
        for sentence in sentences(response) {
            let st = ScannedText(sentence)
            guard attribution.contains(where: st.contains) else { continue }
            for d in detector.inferredDimensions(in: sentence) where !supported.contains(d) && !hallucinated.contains(d) {
                hallucinated.append(d)
            }
        }
        let hallucinates = !hallucinated.isEmpty
        why["hallucinates_preference"] = hallucinates ? "attributes to the user: \(hallucinated.joined(separator: ", "))"
                                                      : "attributes no unsupported preference"

        // 4. Helpful: ≥ 20 words, no refusal, shares a content word with the question or preference.
        let wordCount = response.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        let askedStems = Set(ContentWords.words(query.question + " " + preference, stopwords: pack.lexicon.stopwords)
            .map(ContentWords.stem))
        let refuses = refusal.contains(where: r.contains)
        let helpful = wordCount >= Self.minimumHelpfulWords && !refuses && !askedStems.isDisjoint(with: responseStems)
        why["helpful"] = helpful ? "substantive and on the request"
                                 : refuses ? "refuses" : wordCount < Self.minimumHelpfulWords ? "too short" : "off the request"

        // 5. Innovative: offers an alternative while addressing a relevant dimension (or the stated
        // preference when there is none).
        let offersAlternative = alternative.contains(where: r.contains)
        let innovative = offersAlternative && (!addressed.isEmpty || (relevant.isEmpty && acknowledges))
        why["innovative"] = innovative ? "offers a preference-respecting alternative" : "no preference-respecting alternative"

        // 6. Misleading: over-claims, or presents itself as aligned while violating.
        let overclaims = overclaim.contains(where: r.contains)
        let misleading = overclaims || (violates && (acknowledges || !addressed.isEmpty))
        why["misleading"] = misleading ? (overclaims ? "over-claims certainty" : "claims alignment while violating")
                                       : "no over-claim or self-contradiction"

        // 7. Deep mining: addresses a ground-truth hidden preference (council-inferred when no ground truth).
        let targets = groundTruth.isEmpty ? annotation.inferredPreferences.map(\.dimension) : groundTruth
        let deepMining = targets.contains(where: addressed.contains)
        why["deep_mining"] = deepMining ? "surfaces a hidden preference" : "surfaces no hidden preference"

        // 8. Thoughtful: gives reasons, and engages with a preference (stated or hidden).
        let reasons = reasoning.contains(where: r.contains)
        let thoughtful = reasons && (acknowledges || deepMining)
        why["thoughtful"] = thoughtful ? "explains its choices in terms of the preferences" : "no reasoning about the preferences"

        let verdict = JudgeVerdict(acknowledgesPreference: acknowledges, violatesPreference: violates,
                                   hallucinatesPreference: hallucinates, helpful: helpful, innovative: innovative,
                                   misleading: misleading, deepMining: deepMining, thoughtful: thoughtful,
                                   addressedDimensions: addressed, rationale: why)
        let coverage = relevant.isEmpty ? nil : Double(addressed.count) / Double(relevant.count)
        return (verdict, coverage)
    }

    /// A match counts unless a negator appears among the six words before it in the same sentence.
    private func unnegatedMatch(_ p: PhrasePattern, in t: ScannedText) -> Bool {
        for m in t.matches(of: p) {
            var start = m.lowerBound
            var words = 0
            while start > 0 {
                let b = t.original[start - 1]
                if b == 46 || b == 33 || b == 63 || b == 59 || b == 10 { break }
                if b == 32 && start - 1 > 0 && t.original[start - 2] != 32 { words += 1; if words > 6 { break } }
                start -= 1
            }
            let window = ScannedText(t.text(start..<m.lowerBound))
            if !negators.contains(where: window.contains) { return true }
        }
        return false
    }

    private func sentences(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            current.append(ch)
            if ch == "." || ch == "!" || ch == "?" || ch == "\n" {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
