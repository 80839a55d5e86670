import Council
import DeepPref
import DeepPrefTesting
import Testing

/// How the situated reading turns clauses into evidence and evidence into a decision.
@Suite struct PreferenceReaderTests {
    var reader: PreferenceReader { Fixture.fullCouncil.reader! }

    @Test func aClauseMeansOnlyTheDimensionItIsClosestTo() {
        let features = reader.features(question: "Honestly the whole thing has me in tears most nights.", preference: "", topic: nil)
        let meant = features.filter { $0.cueSimilarity > 0 }
        #expect(meant.map(\.dimension) == ["emotional_wellbeing"])
    }

    @Test func closenessWeighsTheClosestPrototypeAgainstTheFiveClosest() {
        var nearest: [Float] = []
        for c: Float in [0.1, 0.9, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6] { PreferenceReader.keepNearest(&nearest, c) }
        #expect(nearest == [0.9, 0.7, 0.6, 0.5, 0.4])
        #expect(abs(PreferenceReader.cueCloseness(nearest) - (0.45 + 0.5 * 3.1 / 5)) < 1e-6)
        // one prototype: its own cosine; none: nothing
        #expect(PreferenceReader.cueCloseness([0.8]) == 0.8)
        #expect(PreferenceReader.cueCloseness([]) == -1)
        // one stray near-match is closer than nothing, but less close than five that agree
        #expect(PreferenceReader.cueCloseness([0.8, 0.2, 0.2, 0.2, 0.2]) < PreferenceReader.cueCloseness([0.6, 0.6, 0.6, 0.6, 0.6]))
    }

    @Test func crossValidationScoresEveryDevQueryOnceByAFitThatDidNotSeeIt() throws {
        let dev = Array(Fixture.handwritten.queries.filter { $0.split == "dev" }.prefix(16))
        let examples = CouncilCalibrator.examples(reader, dev)
        let s = CouncilCalibrator.crossValidate(examples, folds: 4)
        let labels = dev.reduce(0) { $0 + Set($1.preferences.map(\.dimension)).count }
        #expect(s.truePositives + s.falseNegatives == labels)
        #expect(s.truePositives > 0)
    }

    @Test func theStandingOfTheBestDimensionIsZeroAndTheRestBelow() throws {
        let c = try #require(Fixture.pack.calibration)
        let ranking = try #require(c.ranking)
        let features = reader.features(question: "My brother wants to borrow money and I can barely cover my own rent.",
                                       preference: "", topic: "Personal Finance")
        let vectors = features.map { $0.vector(floor: c.similarityFloor) }
        let scores = vectors.map { v in zip(PreferenceFeatures.names, v).reduce(0.0) { $0 + ranking[$1.0]! * $1.1 } }
        let confidences = PreferenceReader.confidences(features, c)
        let best = scores.indices.max { scores[$0] < scores[$1] }!
        #expect(features[best].dimension == "budget")
        // the same evidence with a lower standing never scores higher: confidence follows the ranking
        // wherever the evidence is equal, and the best dimension is inferred
        #expect(confidences[best] >= c.threshold)
        #expect(confidences.allSatisfy { (0...1).contains($0) })
        // without a ranking, standing is 0 everywhere and only the evidence counts
        var flat = c
        flat.ranking = nil
        let unranked = PreferenceReader.confidences(features, flat)
        let w = c.weights[PreferenceFeatures.standingName] ?? 0
        for i in features.indices where i != best {
            #expect(w <= 0 || unranked[i] >= confidences[i], "\(features[i].dimension)")
        }
        #expect(abs(unranked[best] - confidences[best]) < 1e-12)
    }

    @Test func aCalibrationWithABrokenRankingIsRefused() throws {
        let p = Fixture.pack
        var c = try #require(p.calibration)
        #expect(c.ranking != nil && c.weights[PreferenceFeatures.standingName] != nil)
        c.ranking!["keyword"] = .nan
        #expect(throws: KnowledgePackError.self) {
            try KnowledgePack(topics: p.topics, dimensions: p.dimensions, distractors: p.distractors, personas: p.personas,
                              moderator: p.moderator, lexicon: p.lexicon, situations: p.situations, phrasings: p.phrasings,
                              calibration: c)
        }
    }
}
