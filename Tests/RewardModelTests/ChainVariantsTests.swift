import Critique
import DeepPrefTesting
import Events
import OracleJudge
import RewardModel
import Testing

@Suite struct ChainVariantsTests {
    static let items: [AnnotatedQuery] = Fixture.benchmark.pairs.prefix(120).map { pair in
        let q = pair.querySubmitted
        return AnnotatedQuery(query: q, annotation: try! Fixture.council.annotateNow(q))
    }
    static let corpus = PRMCorpus(pack: Fixture.pack)

    @Test func everyKindIsMadeAndLabelled() {
        let examples = Self.corpus.examples(Self.items)
        var origins: [String: Int] = [:]
        for e in examples { origins[e.variant.origin, default: 0] += 1 }
        let kinds = ["reference_aligned", "reference_superficial"] + ChainVariants.mixedKinds.map { "mixed:" + $0 }
            + ChainVariants.garbledKinds.map { "garbled:" + $0 }
        for kind in kinds {
            #expect((origins[kind] ?? 0) > Self.items.count / 2, "few \(kind) chains: \(origins[kind] ?? 0)")
        }
        for e in examples {
            #expect(e.label.stepVerdicts.count == e.variant.steps.count)
            #expect((try? CritiqueChainParser(expectedSteps: e.variant.steps.count).parse(e.label.text)) == e.label)
        }
        // The probe kinds never appear in the training corpus.
        #expect(!examples.contains { e in ChainVariants.probeKinds.contains { e.variant.origin == "garbled:" + $0 } })
        let probes = Self.corpus.probes(Self.items)
        #expect(probes.allSatisfy { e in ChainVariants.probeKinds.contains { e.variant.origin == "garbled:" + $0 } })
    }

    @Test func deterministic() {
        let a = Self.corpus.examples(Array(Self.items.prefix(20)))
        let b = Self.corpus.examples(Array(Self.items.prefix(20)))
        #expect(a == b)
    }

    @Test func oracleRanksBrokenChainsBelowTheAlignedOne() {
        let examples = Self.corpus.examples(Self.items)
        var byQuery: [String: [PRMExample]] = [:]
        for e in examples { byQuery[e.queryID, default: []].append(e) }
        var below: [String: (Int, Int)] = [:]
        for (_, group) in byQuery {
            guard let aligned = group.first(where: { $0.variant.origin == "reference_aligned" }) else { continue }
            for e in group where e.variant.origin != "reference_aligned" {
                let (n, total) = below[e.variant.origin] ?? (0, 0)
                below[e.variant.origin] = (n + (e.label.finalScore < aligned.label.finalScore ? 1 : 0), total + 1)
            }
        }
        for (origin, (n, total)) in below.sorted(by: { $0.key < $1.key }) {
            print("oracle: \(origin) below aligned on \(n)/\(total)")
        }
        // The superficial reference, a violating step and every garbled kind always rank below; the
        // other mixed kinds break a step whose loss the rest of the chain can outweigh, so the PRM's
        // pairwise figure counts only the pairs the oracle ranks this way.
        for origin in ["reference_superficial", "mixed:violating_step", "garbled:spliced", "garbled:stuffed",
                       "garbled:repeated", "garbled:contradicting", "garbled:truncated"] {
            let (n, total) = below[origin] ?? (0, 1)
            #expect(n == total, "\(origin): \(n)/\(total)")
        }
        for origin in ChainVariants.mixedKinds.map({ "mixed:" + $0 }) {
            let (n, total) = below[origin] ?? (0, 1)
            #expect(Double(n) >= 0.9 * Double(total), "\(origin): \(n)/\(total)")
        }
    }
}
