import DeepPref
import Foundation
import SentenceEncoder

/// What the council knows about one dimension in one query: the evidence of every kind, as numbers
/// (the features of the calibrated decision) and as the spans they rest on.
public struct PreferenceFeatures: Sendable, Equatable {
    public var dimension: String
    /// Keyword weight of the pack's lexicon (strong 1, weak 0.5), capped at 2.
    public var keyword: Double
    /// Strongest implication of a situation whose wording appears in the text.
    public var situationWords: Double
    /// (strength of the implication, similarity of the closest clause to the situation's
    /// examples) for every situation that implies the dimension.
    public var situationSimilarities: [SituationSimilarity]
    /// Closeness (`PreferenceReader.cueCloseness`: the closest and the mean of the five closest
    /// prototypes) to the dimension's cue sentences, clauses and everyday phrasings of the closest
    /// clause among those whose closest dimension this is (a clause means one dimension).
    public var cueSimilarity: Double
    /// The topic's prior for the dimension.
    public var topicPrior: Double

    /// Verbatim spans behind each kind of evidence (nil where there is none).
    public var keywordEvidence: String?
    public var situationWordsEvidence: String?
    public var situationWordsName: String?
    public var meaningEvidence: String?

    public struct SituationSimilarity: Sendable, Equatable {
        public var situation: String
        public var strength: Double
        public var similarity: Double
        public var clause: String
    }

    public static let names = ["keyword", "situation_words", "situation_meaning", "cue_meaning", "prior_support"]
    /// The query-level feature: the dimension's first-stage score minus the query's best.
    public static let standingName = "standing"

    /// Similarity above the floor, rescaled to [0, 1].
    static func above(_ similarity: Double, _ floor: Double) -> Double { max(0, (similarity - floor) / (1 - floor)) }

    /// The situation a clause means most strongly for this dimension (strength × similarity above the floor).
    public func situationMeaning(floor: Double) -> (value: Double, best: SituationSimilarity?) {
        var best: (Double, SituationSimilarity?) = (0, nil)
        for s in situationSimilarities {
            let v = s.strength * Self.above(s.similarity, floor)
            if v > best.0 { best = (v, s) }
        }
        return best
    }

    /// The features in `names` order. The topic prior only scales evidence of another kind, so a
    /// topic alone never makes an inference.
    public func vector(floor: Double) -> [Double] {
        let meaning = situationMeaning(floor: floor).value, cue = Self.above(cueSimilarity, floor)
        let support = max(situationWords, meaning, cue, min(1, keyword))
        return [keyword, situationWords, meaning, cue, topicPrior * support]
    }
}

/// Reads a query's implicit preferences from keywords, situations (by their wording and by
/// meaning), paraphrases of the pack's cues (by meaning) and topic priors, and decides with the
/// pack's calibration (`calibration.json`, fitted by `cdra council calibrate` on hand-written queries).
///
/// Meaning is cosine similarity of all-MiniLM-L6-v2 sentence embeddings between a clause of the
/// query and the pack's sentences; similarities below the calibration's floor count as nothing. Clauses
/// are embedded with the pack's distractor phrases ("safe word") taken out, so incidental wording
/// does not read as a cue; the evidence quoted is always the clause as written. Situations and
/// meaning are read only outside the benchmark builder's frames (`PackFrames`).
public final class PreferenceReader: @unchecked Sendable {
    public let pack: KnowledgePack
    public let encoder: SentenceEncoder
    let detector: CueDetector
    let dimensionNames: [String]
    /// Unit embeddings of every dimension's cue sentences, cue clauses, description and everyday
    /// phrasings, with the owning dimension index.
    let cuePrototypes: EmbeddingMatrix, cueOwner: [Int]
    /// Unit embeddings of every situation's examples, with the owning situation index.
    let situationPrototypes: EmbeddingMatrix, situationOwner: [Int]
    let triggerPatterns: [[PhrasePattern]]
    let neutralPatterns: [PhrasePattern]
    let frames: PackFrames
    private let cache = EmbeddingCache(capacity: 50_000)

    public init(pack: KnowledgePack, encoder: SentenceEncoder) {
        self.pack = pack
        self.encoder = encoder
        detector = CueDetector(pack: pack)
        dimensionNames = pack.dimensions.map(\.name)
        var cueTexts: [String] = [], cueOwner: [Int] = []
        for (i, d) in pack.dimensions.enumerated() {
            for s in d.cueSentences + d.cueClauses + [d.description] + (pack.phrasings[d.name] ?? []) {
                cueTexts.append(s); cueOwner.append(i)
            }
        }
        var sitTexts: [String] = [], sitOwner: [Int] = []
        for (i, s) in pack.situations.situations.enumerated() {
            for e in s.examples { sitTexts.append(e); sitOwner.append(i) }
        }
        // one cached list, so a pack edit re-embeds once and a restart reads the file
        let cache = PrototypeEmbeddings.defaultDirectory(for: encoder)
        let all = PrototypeEmbeddings.embed(cueTexts + sitTexts, with: encoder, cacheDirectory: cache)
        cuePrototypes = EmbeddingMatrix(Array(all[..<cueTexts.count]), dimension: encoder.dimension)
        situationPrototypes = EmbeddingMatrix(Array(all[cueTexts.count...]), dimension: encoder.dimension)
        self.cueOwner = cueOwner
        self.situationOwner = sitOwner
        triggerPatterns = pack.situations.situations.map { $0.triggers.map(PhrasePattern.init) }
        neutralPatterns = pack.distractors.flatMap { $0.neutralPhrases.map(PhrasePattern.init) }
        frames = PackFrames(pack: pack)
    }

    /// Features for every dimension, in pack order.
    public func features(question: String, preference: String, topic: String?) -> [PreferenceFeatures] {
        features(question: question, preference: preference, topic: topic,
                 scans: (detector.scan(question), detector.scan(preference)))
    }

    /// As above, with the keyword scans of the question and the preference already made.
    func features(question: String, preference: String, topic: String?,
                  scans: (question: CueDetector.Scan, preference: CueDetector.Scan)) -> [PreferenceFeatures] {
        let q = scans.question, p = scans.preference
        // situations and meaning are read in the person's own words, never in the pack's frames
        let ownQuestion = frames.readable(question), ownPreference = frames.readable(preference)
        let clauses = Self.clauses(ownQuestion) + Self.clauses(ownPreference)
        let embeddings = embed(clauses.map { masked($0) })
        let slug = topic.flatMap { pack.topic(named: $0)?.slug }
        let priors = slug.flatMap { pack.situations.topicPriors[$0] } ?? [:]

        // situations by wording
        var wordHits: [(situation: Int, evidence: String)] = []
        for text in [ownQuestion, ownPreference] where !text.isEmpty {
            let t = ScannedText(text)
            for (si, patterns) in triggerPatterns.enumerated() {
                if let r = patterns.lazy.compactMap({ t.matches(of: $0).first }).first {
                    wordHits.append((si, t.text(t.clause(around: r))))
                }
            }
        }
        // closest clause per cue prototype owner and per situation
        let D = dimensionNames.count
        var cueBest = [Float](repeating: 0, count: D), cueClause = [Int](repeating: -1, count: D)
        var sitBest = [Float](repeating: 0, count: pack.situations.situations.count)
        var sitClause = [Int](repeating: -1, count: sitBest.count)
        let cueCos = cuePrototypes.cosines(embeddings), sitCos = situationPrototypes.cosines(embeddings)
        let P = cuePrototypes.rows, Q = situationPrototypes.rows
        var clauseCue = [Float](repeating: -1, count: D)
        var nearest = [[Float]](repeating: [], count: D)
        for ci in embeddings.indices {
            // a clause means the dimension it is closest to, and only that one
            for i in 0..<D { nearest[i].removeAll(keepingCapacity: true) }
            for k in 0..<P { Self.keepNearest(&nearest[cueOwner[k]], cueCos[ci * P + k]) }
            for i in 0..<D { clauseCue[i] = Self.cueCloseness(nearest[i]) }
            let top = clauseCue.max() ?? -1
            for i in 0..<D where clauseCue[i] >= top && clauseCue[i] > cueBest[i] {
                cueBest[i] = clauseCue[i]; cueClause[i] = ci
            }
            for k in 0..<Q {
                let c = sitCos[ci * Q + k]
                if c > sitBest[situationOwner[k]] { sitBest[situationOwner[k]] = c; sitClause[situationOwner[k]] = ci }
            }
        }
        var out: [PreferenceFeatures] = []
        for (di, name) in dimensionNames.enumerated() {
            let fq = q.findings.first { $0.dimension == name }, fp = p.findings.first { $0.dimension == name }
            var f = PreferenceFeatures(
                dimension: name, keyword: min(2, (fq?.weight ?? 0) + (fp?.weight ?? 0)), situationWords: 0,
                situationSimilarities: [], cueSimilarity: Double(cueBest[di]), topicPrior: priors[name] ?? 0,
                keywordEvidence: (fq ?? fp)?.evidence, situationWordsEvidence: nil, situationWordsName: nil,
                meaningEvidence: cueClause[di] >= 0 ? clauses[cueClause[di]] : nil)
            for hit in wordHits {
                let s = pack.situations.situations[hit.situation]
                if let imp = s.implies.first(where: { $0.dimension == name }), imp.strength > f.situationWords {
                    f.situationWords = imp.strength
                    f.situationWordsEvidence = hit.evidence
                    f.situationWordsName = s.name
                }
            }
            for (si, s) in pack.situations.situations.enumerated() where sitClause[si] >= 0 {
                guard let imp = s.implies.first(where: { $0.dimension == name }) else { continue }
                f.situationSimilarities.append(.init(situation: s.name, strength: imp.strength,
                                                     similarity: Double(sitBest[si]), clause: clauses[sitClause[si]]))
            }
            out.append(f)
        }
        return out
    }

    /// How many of a dimension's closest cue prototypes its closeness to a clause averages.
    public static let cueNeighbours = 5

    /// Keeps the `cueNeighbours` largest cosines in `best`, largest first.
    public static func keepNearest(_ best: inout [Float], _ cosine: Float) {
        if best.count == cueNeighbours {
            guard cosine > best[cueNeighbours - 1] else { return }
            best.removeLast()
        }
        var i = best.count
        while i > 0 && best[i - 1] < cosine { i -= 1 }
        best.insert(cosine, at: i)
    }

    /// A clause's closeness to a dimension from its closest prototypes' cosines (largest first):
    /// half the closest one, half the mean of all of them, so one stray near-match counts less
    /// than several agreeing ones; -1 without prototypes.
    public static func cueCloseness(_ nearest: [Float]) -> Float {
        guard let first = nearest.first else { return -1 }
        return 0.5 * first + 0.5 * nearest.reduce(0, +) / Float(nearest.count)
    }

    /// Every piece of evidence before any maximum is taken, for studying decision rules
    /// (`cdra council calibrate --dump-evidence`): per clause, the closest cue prototype of each
    /// dimension and the closest example of each situation.
    public struct Study: Codable, Sendable {
        public var clauses: [String]
        public var cueSimilarity: [[Float]]
        /// Per clause and dimension, the `cueNeighbours` closest cue prototypes' cosines, best first.
        public var cueTop: [[[Float]]]
        public var situationSimilarity: [[Float]]
        public var keyword: [Double]
        public var situationWords: [Double]
        public var topicPrior: [Double]
    }

    public func study(question: String, preference: String, topic: String?) -> Study {
        let ownQuestion = frames.readable(question), ownPreference = frames.readable(preference)
        let clauses = Self.clauses(ownQuestion) + Self.clauses(ownPreference)
        let embeddings = embed(clauses.map { masked($0) })
        let D = dimensionNames.count, S = pack.situations.situations.count
        let cueCos = cuePrototypes.cosines(embeddings), sitCos = situationPrototypes.cosines(embeddings)
        let P = cuePrototypes.rows, Q = situationPrototypes.rows
        var cue: [[Float]] = [], top: [[[Float]]] = [], sit: [[Float]] = []
        for ci in embeddings.indices {
            var nearest = [[Float]](repeating: [], count: D), t = [Float](repeating: -1, count: S)
            for k in 0..<P { Self.keepNearest(&nearest[cueOwner[k]], cueCos[ci * P + k]) }
            for k in 0..<Q { t[situationOwner[k]] = max(t[situationOwner[k]], sitCos[ci * Q + k]) }
            cue.append(nearest.map { $0.first ?? -1 }); top.append(nearest); sit.append(t)
        }
        let f = features(question: question, preference: preference, topic: topic)
        return Study(clauses: clauses, cueSimilarity: cue, cueTop: top, situationSimilarity: sit, keyword: f.map(\.keyword),
                     situationWords: f.map(\.situationWords), topicPrior: f.map(\.topicPrior))
    }

    /// The calibrated confidence of each dimension of one query (σ of the fitted linear score).
    /// The score sees the dimension's evidence and its standing in the query: how far its
    /// first-stage score (`CouncilCalibration.ranking`) lies below the query's best dimension.
    public static func confidences(_ features: [PreferenceFeatures], _ c: CouncilCalibration) -> [Double] {
        let vectors = features.map { $0.vector(floor: c.similarityFloor) }
        let standing = Self.standing(vectors, c.ranking)
        return zip(vectors, standing).map { v, st in
            var z = c.bias + (c.weights[PreferenceFeatures.standingName] ?? 0) * st
            for (name, value) in zip(PreferenceFeatures.names, v) { z += (c.weights[name] ?? 0) * value }
            return 1 / (1 + exp(-z))
        }
    }

    /// First-stage score of each vector minus the best of them (0 for the best; all 0 without a ranking).
    static func standing(_ vectors: [[Double]], _ ranking: [String: Double]?) -> [Double] {
        guard let ranking, !vectors.isEmpty else { return [Double](repeating: 0, count: vectors.count) }
        let z = vectors.map { v in zip(PreferenceFeatures.names, v).reduce(0.0) { $0 + (ranking[$1.0] ?? 0) * $1.1 } }
        let top = z.max()!
        return z.map { $0 - top }
    }

    /// The span an inference quotes and, when a situation carries it, that situation.
    public static func evidence(_ f: PreferenceFeatures, _ c: CouncilCalibration) -> (span: String, impliedBy: String?)? {
        let w = c.weights, v = f.vector(floor: c.similarityFloor)
        let keyword = (w["keyword"] ?? 0) * v[0]
        let words = (w["situation_words"] ?? 0) * v[1]
        let meaning = (w["situation_meaning"] ?? 0) * v[2]
        let cue = (w["cue_meaning"] ?? 0) * v[3]
        let best = max(keyword, words, meaning, cue)
        if let k = f.keywordEvidence, f.keyword > 0, keyword >= best { return (k, nil) }
        if let e = f.situationWordsEvidence, let n = f.situationWordsName, f.situationWords > 0, words >= best { return (e, n) }
        if let s = f.situationMeaning(floor: c.similarityFloor).best, meaning > 0, meaning >= best { return (s.clause, s.situation) }
        if let m = f.meaningEvidence { return (m, nil) }
        return f.keywordEvidence.map { ($0, nil) }
    }

    /// Words that open a new clause inside a sentence ("…, but I don't want…").
    static let clauseOpeners: Set<String> = ["but", "and", "so", "since", "because", "though", "although", "while",
                                             "without", "which", "or", "unless", "whereas"]

    /// Clauses of `text`, verbatim: split at `.,;:!?()` and line breaks and before a word that opens
    /// a clause (`clauseOpeners`), trimmed, two words or more. Whole sentences are kept too, so a
    /// meaning spread over a sentence is still seen.
    static func clauses(_ text: String) -> [String] {
        var out: [String] = []
        func add(_ s: Substring) {
            let t = s.trimmingCharacters(in: .whitespaces)
            if t.split(separator: " ").count >= 2 && !out.contains(t) { out.append(t) }
        }
        for sentence in text.split(whereSeparator: { ".;!?\n\r".contains($0) }) {
            add(sentence)
            for piece in sentence.split(whereSeparator: { ",:()".contains($0) }) {
                add(piece)
                let words = piece.split(separator: " ", omittingEmptySubsequences: true)
                var start = piece.startIndex
                for w in words.dropFirst() where clauseOpeners.contains(w.lowercased()) {
                    add(piece[start..<w.startIndex])
                    start = w.startIndex
                }
                if start != piece.startIndex { add(piece[start...]) }
            }
        }
        return out
    }

    /// `clause` with the pack's distractor phrases taken out (what is embedded).
    func masked(_ clause: String) -> String {
        let t = ScannedText(clause)
        var ranges: [Range<Int>] = []
        for p in neutralPatterns { ranges += t.matches(of: p) }
        guard !ranges.isEmpty else { return clause }
        var bytes = Array(clause.utf8)
        for r in ranges.sorted(by: { $0.lowerBound > $1.lowerBound }) where r.upperBound <= bytes.count {
            bytes.removeSubrange(r)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func embed(_ texts: [String]) -> [[Float]] {
        var result = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        for (i, t) in texts.enumerated() {
            if let e = cache.get(t) { result[i] = e } else { missing.append(i) }
        }
        if !missing.isEmpty {
            let fresh = encoder.embed(missing.map { texts[$0] })
            for (k, i) in missing.enumerated() {
                result[i] = fresh[k]
                cache.put(texts[i], fresh[k])
            }
        }
        return result.map { $0! }
    }
}

/// A bounded map of clause text → embedding (cleared when full), shared by concurrent annotations.
final class EmbeddingCache: @unchecked Sendable {
    private var entries: [String: [Float]] = [:]
    private let lock = NSLock()
    let capacity: Int
    init(capacity: Int) { self.capacity = capacity }
    func get(_ key: String) -> [Float]? { lock.lock(); defer { lock.unlock() }; return entries[key] }
    func put(_ key: String, _ value: [Float]) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = value
    }
}
