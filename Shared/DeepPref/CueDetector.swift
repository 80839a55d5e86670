/// Reads implicit-preference cues out of free text with the knowledge pack's keyword lexicon.
///
/// Rule: distractor neutral phrases are masked first; every strong keyword match outside a mask
/// counts 1, every weak one 0.5 (each text position once); a dimension is inferred when its total
/// reaches 1. The evidence is the clause around the first strong match (else the first match),
/// quoted verbatim from the text.
public struct CueDetector: Sendable {
    /// One dimension's evidence in one text.
    public struct Finding: Sendable, Equatable {
        public var dimension: String
        public var weight: Double
        /// Clause around the best match, verbatim.
        public var evidence: String
        /// The keyword as it appears in the text.
        public var keyword: String
        public var inferred: Bool { weight >= CueDetector.threshold }
    }

    /// A masked distractor span: looks like `looksLike` but is not a cue.
    public struct MaskedDistractor: Sendable, Equatable {
        public var looksLike: String
        public var span: String
    }

    public static let threshold = 1.0

    private struct DimensionPatterns: Sendable {
        let name: String
        let strong: [PhrasePattern]
        let weak: [PhrasePattern]
    }

    private let dimensions: [DimensionPatterns]
    private let neutral: [(looksLike: String, pattern: PhrasePattern)]

    public init(pack: KnowledgePack) {
        dimensions = pack.dimensions.map {
            DimensionPatterns(name: $0.name, strong: $0.strongKeywords.map(PhrasePattern.init),
                              weak: $0.weakKeywords.map(PhrasePattern.init))
        }
        var n: [(String, PhrasePattern)] = []
        for d in pack.distractors { for p in d.neutralPhrases { n.append((d.looksLike, PhrasePattern(p))) } }
        neutral = n
    }

    /// What `scan` reads from one text.
    public typealias Scan = (findings: [Finding], masked: [MaskedDistractor])

    /// Findings for every dimension with any weight, in pack order (inferred or not).
    public func scan(_ text: String) -> Scan {
        let t = ScannedText(text)
        guard !t.isEmpty else { return ([], []) }
        var masks: [Range<Int>] = []
        var masked: [MaskedDistractor] = []
        for (looksLike, p) in neutral {
            for r in t.matches(of: p) where !masks.contains(where: { $0.overlaps(r) }) {
                masks.append(r)
                masked.append(MaskedDistractor(looksLike: looksLike, span: t.text(r)))
            }
        }
        var findings: [Finding] = []
        for d in dimensions {
            var used: [Range<Int>] = []
            var weight = 0.0
            var best: (range: Range<Int>, strong: Bool)? = nil
            for (patterns, w, strong) in [(d.strong, 1.0, true), (d.weak, 0.5, false)] {
                for p in patterns {
                    for r in t.matches(of: p)
                    where !masks.contains(where: { $0.overlaps(r) }) && !used.contains(where: { $0.overlaps(r) }) {
                        used.append(r)
                        weight += w
                        if best == nil || (strong && !best!.strong) || (strong == best!.strong && r.lowerBound < best!.range.lowerBound) {
                            best = (r, strong)
                        }
                    }
                }
            }
            if let b = best {
                findings.append(Finding(dimension: d.name, weight: weight,
                                        evidence: t.text(t.clause(around: b.range)), keyword: t.text(b.range)))
            }
        }
        return (findings, masked)
    }

    /// Names of the dimensions inferred from `text`.
    public func inferredDimensions(in text: String) -> [String] {
        scan(text).findings.filter(\.inferred).map(\.dimension)
    }
}
