import Foundation

/// The data that drives the benchmark builder, the built-in council and the built-in judge, loaded
/// from a directory of JSON files (layout in Docs/deeppref.md):
///
///     topics.json  personas.json  distractors.json  lexicon.json  dimensions/<name>.json
///
/// Loading validates everything; the first problem is thrown as a ``KnowledgePackError`` naming the
/// file and field.
public struct KnowledgePack: Sendable, Equatable {
    public var topics: [KnowledgeTopic]
    /// Sorted by name, so iteration order never depends on the file system.
    public var dimensions: [KnowledgeDimension]
    public var distractors: [KnowledgeDistractor]
    public var personas: [CouncilPersona]
    /// Name of the persona that writes the reasoning chain and the reference answers.
    public var moderator: String
    public var lexicon: KnowledgeLexicon
    /// Situations and topic priors (`situations.json`; a pack without the file has none).
    public var situations: KnowledgeSituations
    /// Dimension → everyday ways people voice it (`phrasings.json`; matched by meaning only, never
    /// used by the benchmark builder; a pack without the file has none).
    public var phrasings: [String: [String]]
    /// The council's fitted decision rule (`calibration.json`; without it the council reads
    /// keywords only).
    public var calibration: CouncilCalibration?

    public init(topics: [KnowledgeTopic], dimensions: [KnowledgeDimension], distractors: [KnowledgeDistractor],
                personas: [CouncilPersona], moderator: String, lexicon: KnowledgeLexicon,
                situations: KnowledgeSituations = .none, phrasings: [String: [String]] = [:],
                calibration: CouncilCalibration? = nil) throws {
        self.situations = situations
        self.phrasings = phrasings
        self.calibration = calibration
        self.topics = topics
        self.dimensions = dimensions.sorted { $0.name < $1.name }
        self.distractors = distractors
        self.personas = personas
        self.moderator = moderator
        self.lexicon = lexicon
        try validate()
    }

    /// Where the shipped pack lives (a copy of it is the easiest start for a custom pack).
    public static var builtinDirectory: URL? { Bundle.module.url(forResource: "Knowledge", withExtension: nil) }

    /// The pack shipped with the module (`Shared/DeepPref/Knowledge`).
    public static func builtin() throws -> KnowledgePack {
        guard let url = builtinDirectory else {
            throw KnowledgePackError(.missingFile, file: "Knowledge", field: "-", "resource directory not in the bundle")
        }
        return try load(from: url)
    }

    /// Loads and validates a pack directory.
    public static func load(from directory: URL) throws -> KnowledgePack {
        let topics = try decode(TopicsFile.self, directory, "topics.json").topics
        let personasFile = try decode(PersonasFile.self, directory, "personas.json")
        let distractors = try decode(DistractorsFile.self, directory, "distractors.json").distractors
        let lexicon = try decode(KnowledgeLexicon.self, directory, "lexicon.json")
        let dimensionDir = directory.appendingPathComponent("dimensions")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dimensionDir.path)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw KnowledgePackError(.missingFile, file: "dimensions/", field: "-", "cannot list directory: \(error)")
        }
        var dimensions: [KnowledgeDimension] = []
        for fileName in names {
            let d = try decode(KnowledgeDimension.self, dimensionDir, fileName, shownAs: "dimensions/\(fileName)")
            let stem = String(fileName.dropLast(5))
            if d.name != stem {
                throw KnowledgePackError(.invalidValue, file: "dimensions/\(fileName)", field: "name",
                                         "'\(d.name)' must equal the file name '\(stem)'")
            }
            dimensions.append(d)
        }
        let situations = FileManager.default.fileExists(atPath: directory.appendingPathComponent("situations.json").path)
            ? try decode(KnowledgeSituations.self, directory, "situations.json") : .none
        let phrasings = FileManager.default.fileExists(atPath: directory.appendingPathComponent("phrasings.json").path)
            ? try decode(PhrasingsFile.self, directory, "phrasings.json").phrasings : [:]
        let calibration = FileManager.default.fileExists(atPath: directory.appendingPathComponent("calibration.json").path)
            ? try decode(CouncilCalibration.self, directory, "calibration.json") : nil
        return try KnowledgePack(topics: topics, dimensions: dimensions, distractors: distractors,
                                 personas: personasFile.personas, moderator: personasFile.moderator, lexicon: lexicon,
                                 situations: situations, phrasings: phrasings, calibration: calibration)
    }

    public func dimension(named name: String) -> KnowledgeDimension? {
        dimensions.first { $0.name == name }
    }

    public func topic(named name: String) -> KnowledgeTopic? {
        topics.first { $0.name == name }
    }

    // MARK: - Files

    private struct TopicsFile: Decodable { var topics: [KnowledgeTopic] }
    private struct DistractorsFile: Decodable { var distractors: [KnowledgeDistractor] }
    private struct PhrasingsFile: Decodable { var phrasings: [String: [String]] }
    private struct PersonasFile: Decodable { var moderator: String; var personas: [CouncilPersona] }

    private static func decode<T: Decodable>(_ type: T.Type, _ dir: URL, _ name: String,
                                             shownAs: String? = nil) throws -> T {
        let shown = shownAs ?? name
        let url = dir.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw KnowledgePackError(.missingFile, file: shown, field: "-", "file not found at \(url.path)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw KnowledgePackError(.malformedJSON, file: shown, field: path(ctx.codingPath + [key]), "required field is missing")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw KnowledgePackError(.malformedJSON, file: shown, field: path(ctx.codingPath), ctx.debugDescription)
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw KnowledgePackError(.malformedJSON, file: shown, field: path(ctx.codingPath), "value is null")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw KnowledgePackError(.malformedJSON, file: shown, field: path(ctx.codingPath), "not valid JSON: \(ctx.debugDescription)")
        } catch {
            throw KnowledgePackError(.malformedJSON, file: shown, field: "-", "\(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return s.isEmpty ? "-" : s
    }

    // MARK: - Validation

    /// Minimum sizes that keep 3000 generated queries varied; see Docs/deeppref.md.
    static let minimumDimensions = 12
    static let minimumPersonas = 6

    private func validate() throws {
        func fail(_ file: String, _ field: String, _ message: String,
                  _ code: KnowledgePackError.Code = .invalidValue) -> KnowledgePackError {
            KnowledgePackError(code, file: file, field: field, message)
        }
        func nonEmpty(_ items: [String], min: Int, _ file: String, _ field: String) throws {
            if items.count < min { throw fail(file, field, "needs at least \(min) entries, has \(items.count)") }
            for (i, s) in items.enumerated() where s.trimmingCharacters(in: .whitespaces).isEmpty {
                throw fail(file, "\(field)[\(i)]", "is empty")
            }
        }
        let dimNames = Set(dimensions.map(\.name))
        if dimensions.count < Self.minimumDimensions {
            throw fail("dimensions/", "-", "needs at least \(Self.minimumDimensions) dimension files, has \(dimensions.count)")
        }
        for d in dimensions {
            let f = "dimensions/\(d.name).json"
            if d.label.isEmpty { throw fail(f, "label", "is empty") }
            if !(0.0...1.0).contains(d.severity) { throw fail(f, "severity", "\(d.severity) is outside [0, 1]") }
            try nonEmpty(d.strongKeywords, min: 1, f, "strong_keywords")
            try nonEmpty(d.cueSentences, min: 6, f, "cue_sentences")
            try nonEmpty(d.cueClauses, min: 3, f, "cue_clauses")
            try nonEmpty(d.heldOutCues, min: 3, f, "held_out_cues")
            try nonEmpty(d.latentRisks, min: 2, f, "latent_risks")
            try nonEmpty(d.defensiveStrategies, min: 2, f, "defensive_strategies")
            try nonEmpty(d.respectFragments, min: 2, f, "respect_fragments")
            try nonEmpty(d.violateFragments, min: 2, f, "violate_fragments")
            try nonEmpty(d.respectMarkers, min: 2, f, "respect_markers")
            try nonEmpty(d.violationMarkers, min: 2, f, "violation_markers")
            let respect = d.respectMarkers.map(PhrasePattern.init)
            let violation = d.violationMarkers.map(PhrasePattern.init)
            for (i, s) in d.respectFragments.enumerated() {
                let t = ScannedText(s)
                if !respect.contains(where: t.contains) {
                    throw fail(f, "respect_fragments[\(i)]", "contains none of respect_markers: \"\(s)\"")
                }
                if violation.contains(where: t.contains) {
                    throw fail(f, "respect_fragments[\(i)]", "contains a violation marker: \"\(s)\"")
                }
            }
            for (i, s) in d.violateFragments.enumerated() {
                let t = ScannedText(s)
                if !violation.contains(where: t.contains) {
                    throw fail(f, "violate_fragments[\(i)]", "contains none of violation_markers: \"\(s)\"")
                }
                if respect.contains(where: t.contains) {
                    throw fail(f, "violate_fragments[\(i)]", "contains a respect marker: \"\(s)\"")
                }
            }
        }
        if topics.isEmpty { throw fail("topics.json", "topics", "is empty") }
        var seenTopics = Set<String>(), seenSlugs = Set<String>()
        for (ti, t) in topics.enumerated() {
            let f = "topics.json", p = "topics[\(ti)]"
            if t.name.isEmpty { throw fail(f, "\(p).name", "is empty") }
            if !seenTopics.insert(t.name).inserted { throw fail(f, "\(p).name", "duplicate topic '\(t.name)'") }
            if !seenSlugs.insert(t.slug).inserted { throw fail(f, "\(p).slug", "duplicate slug '\(t.slug)'") }
            try nonEmpty(t.dimensions, min: 3, f, "\(p).dimensions")
            for (i, d) in t.dimensions.enumerated() where !dimNames.contains(d) {
                throw fail(f, "\(p).dimensions[\(i)]", "unknown dimension '\(d)'", .unknownReference)
            }
            try nonEmpty(t.contexts, min: 3, f, "\(p).contexts")
            try nonEmpty(t.requests, min: 3, f, "\(p).requests")
            try nonEmpty(t.surfaceAnswers, min: 1, f, "\(p).surface_answers")
            if t.statedPreferences.count < 3 { throw fail(f, "\(p).stated_preferences", "needs at least 3 entries") }
            for (i, sp) in t.statedPreferences.enumerated() where sp.text.isEmpty || sp.focus.isEmpty || sp.violation.isEmpty {
                throw fail(f, "\(p).stated_preferences[\(i)]", "text, focus and violation must all be non-empty")
            }
            for (key, values) in t.fillers { try nonEmpty(values, min: 2, f, "\(p).fillers.\(key)") }
            for (field, templates) in [("contexts", t.contexts), ("requests", t.requests)] {
                for (i, template) in templates.enumerated() {
                    for slot in TemplateText.slots(in: template) where t.fillers[slot] == nil {
                        throw fail(f, "\(p).\(field)[\(i)]", "slot {\(slot)} has no fillers", .unknownReference)
                    }
                }
            }
        }
        for (i, d) in distractors.enumerated() {
            let f = "distractors.json", p = "distractors[\(i)]"
            if !dimNames.contains(d.looksLike) {
                throw fail(f, "\(p).looks_like", "unknown dimension '\(d.looksLike)'", .unknownReference)
            }
            try nonEmpty(d.neutralPhrases, min: 1, f, "\(p).neutral_phrases")
            try nonEmpty(d.sentences, min: 1, f, "\(p).sentences")
            let neutral = d.neutralPhrases.map(PhrasePattern.init)
            for (j, s) in d.sentences.enumerated() where !neutral.contains(where: ScannedText(s).contains) {
                throw fail(f, "\(p).sentences[\(j)]", "contains none of neutral_phrases: \"\(s)\"")
            }
        }
        if personas.count < Self.minimumPersonas {
            throw fail("personas.json", "personas", "needs at least \(Self.minimumPersonas) personas, has \(personas.count)")
        }
        if moderator.isEmpty { throw fail("personas.json", "moderator", "is empty") }
        for (i, p) in personas.enumerated() {
            for (j, d) in p.focus.enumerated() where !dimNames.contains(d) {
                throw fail("personas.json", "personas[\(i)].focus[\(j)]", "unknown dimension '\(d)'", .unknownReference)
            }
        }
        for (file, topic) in lexicon.prefevalTopicMap.sorted(by: { $0.key < $1.key }) where !seenTopics.contains(topic) {
            throw fail("lexicon.json", "prefeval_topic_map.\(file)", "unknown topic '\(topic)'", .unknownReference)
        }
        for (field, list) in [("negators", lexicon.negators), ("attribution_markers", lexicon.attributionMarkers),
                              ("alternative_markers", lexicon.alternativeMarkers),
                              ("reasoning_markers", lexicon.reasoningMarkers),
                              ("overclaim_markers", lexicon.overclaimMarkers), ("refusal_markers", lexicon.refusalMarkers)] {
            try nonEmpty(list, min: 1, "lexicon.json", field)
        }
        var seenSituations = Set<String>()
        for (i, s) in situations.situations.enumerated() {
            let f = "situations.json", p = "situations[\(i)]"
            if s.name.isEmpty { throw fail(f, "\(p).name", "is empty") }
            if !seenSituations.insert(s.name).inserted { throw fail(f, "\(p).name", "duplicate situation '\(s.name)'") }
            try nonEmpty(s.triggers, min: 1, f, "\(p).triggers")
            try nonEmpty(s.examples, min: 1, f, "\(p).examples")
            if s.implies.isEmpty { throw fail(f, "\(p).implies", "is empty") }
            for (j, imp) in s.implies.enumerated() {
                if !dimNames.contains(imp.dimension) {
                    throw fail(f, "\(p).implies[\(j)].dimension", "unknown dimension '\(imp.dimension)'", .unknownReference)
                }
                if !(0.0...1.0).contains(imp.strength) {
                    throw fail(f, "\(p).implies[\(j)].strength", "\(imp.strength) is outside [0, 1]")
                }
            }
        }
        for (slug, priors) in situations.topicPriors.sorted(by: { $0.key < $1.key }) {
            if !seenSlugs.contains(slug) {
                throw fail("situations.json", "topic_priors.\(slug)", "unknown topic slug '\(slug)'", .unknownReference)
            }
            for (d, v) in priors.sorted(by: { $0.key < $1.key }) {
                if !dimNames.contains(d) {
                    throw fail("situations.json", "topic_priors.\(slug).\(d)", "unknown dimension '\(d)'", .unknownReference)
                }
                if !(0.0...1.0).contains(v) { throw fail("situations.json", "topic_priors.\(slug).\(d)", "\(v) is outside [0, 1]") }
            }
        }
        for (d, list) in phrasings.sorted(by: { $0.key < $1.key }) {
            if !dimNames.contains(d) { throw fail("phrasings.json", "phrasings.\(d)", "unknown dimension '\(d)'", .unknownReference) }
            for (i, s) in list.enumerated() where s.trimmingCharacters(in: .whitespaces).isEmpty {
                throw fail("phrasings.json", "phrasings.\(d)[\(i)]", "is empty")
            }
        }
        if let c = calibration {
            if !(0.0...1.0).contains(c.threshold) { throw fail("calibration.json", "threshold", "\(c.threshold) is outside [0, 1]") }
            for (k, v) in c.weights where !v.isFinite { throw fail("calibration.json", "weights.\(k)", "is not a finite number") }
            for (k, v) in c.ranking ?? [:] where !v.isFinite { throw fail("calibration.json", "ranking.\(k)", "is not a finite number") }
        }
    }
}
