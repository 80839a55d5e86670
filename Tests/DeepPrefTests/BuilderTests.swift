import DeepPref
import DeepPrefFormats
import DeepPrefTesting
import Foundation
import Testing

@Suite struct BuilderTests {
    @Test func splitMix64MatchesTheReferenceSequence() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func buildYields3000PairsOverAllTopicsAndDimensions() {
        let b = Fixture.benchmark
        #expect(b.pairs.count == 3000)
        var perTopic: [String: Int] = [:]
        var dims = Set<String>()
        for p in b.pairs {
            perTopic[p.topic, default: 0] += 1
            dims.formUnion(p.hiddenPreferences)
            #expect((1...3).contains(p.hiddenPreferences.count))
            #expect(["low", "medium", "high"].contains(p.riskTolerance ?? ""))
            #expect(!p.preference.isEmpty && !p.explanation.isEmpty && p.question.hasSuffix("?"))
        }
        print("pairs \(b.pairs.count), topics \(perTopic.count), min per topic \(perTopic.values.min() ?? 0), dimensions used \(dims.count)")
        #expect(perTopic.count == 20)
        #expect(perTopic.values.allSatisfy { $0 >= 100 })
        #expect(dims.count >= 12)
        #expect(Set(b.pairs.map(\.id)).count == b.pairs.count)
        let withDistractor = b.pairs.filter { !$0.distractors.isEmpty }.count
        print("pairs with a distractor: \(withDistractor)")
        #expect(withDistractor > 500)
    }

    @Test func splitsAre80_10_10PerTopicAndPerturbedCopiesTheTestSplit() {
        let b = Fixture.benchmark
        for topic in Fixture.pack.topics.map(\.name) {
            let pairs = b.pairs.filter { $0.topic == topic }
            #expect(pairs.filter { $0.split == "test" }.count == 15, "\(topic)")
            #expect(pairs.filter { $0.split == "validation" }.count == 15, "\(topic)")
            #expect(pairs.filter { $0.split == "train" }.count == 120, "\(topic)")
        }
        let test = b.split("test")
        #expect(b.perturbedTest.count == test.count)
        for (t, p) in zip(test, b.perturbedTest) {
            #expect(p.id == t.id + "-perturbed" && p.split == "test_perturbed")
            #expect(p.hiddenPreferences == t.hiddenPreferences)
            #expect(p.question != t.question)
            #expect(p.distractors.count == t.distractors.count + 1)
        }
    }

    @Test func sameSeedGivesByteIdenticalJSONLAndAnotherSeedDiffers() throws {
        let config = DeepPrefBuildConfig(pairs: 3000, seed: Fixture.seed)
        let again = try DeepPrefBuilder(pack: Fixture.pack, config: config).build()
        let a = try DeepPrefJSONL.encode(Fixture.benchmark.pairs + Fixture.benchmark.perturbedTest)
        let b = try DeepPrefJSONL.encode(again.pairs + again.perturbedTest)
        let other = try DeepPrefBuilder(pack: Fixture.pack, config: DeepPrefBuildConfig(pairs: 3000, seed: Fixture.seed + 1)).build()
        let c = try DeepPrefJSONL.encode(other.pairs + other.perturbedTest)
        let (ha, hb, hc) = (Fixture.fnv1a(a), Fixture.fnv1a(b), Fixture.fnv1a(c))
        print("JSONL fnv1a64: run1 \(String(ha, radix: 16)) run2 \(String(hb, radix: 16)) other seed \(String(hc, radix: 16)); \(a.count) bytes")
        #expect(ha == hb)
        #expect(a == b)
        #expect(ha != hc)
        #expect(try DeepPrefJSONL.decode(a) == Fixture.benchmark.pairs + Fixture.benchmark.perturbedTest)
    }

    @Test func splitsAreDisjointWithNoNearDuplicatesAcrossThem() {
        let b = Fixture.benchmark
        let splits = DeepPrefBuilder.splitNames.map { b.split($0) }
        let ids = splits.map { Set($0.map(\.id)) }
        #expect(ids[0].isDisjoint(with: ids[1]) && ids[0].isDisjoint(with: ids[2]) && ids[1].isDisjoint(with: ids[2]))
        // Rule 1: token-set Jaccard ≥ 0.8.
        let tokens = splits.map { $0.map { NearDuplicate.tokenSet($0.question) } }
        var maxCross = 0.0, violations = 0
        for i in 0..<3 {
            for j in (i + 1)..<3 {
                for a in tokens[i] {
                    for c in tokens[j] {
                        let s = NearDuplicate.jaccard(a, c)
                        maxCross = max(maxCross, s)
                        if s >= NearDuplicate.threshold { violations += 1 }
                    }
                }
            }
        }
        // Rule 2: equal once cue and distractor sentences are removed.
        let distractorSentences = Fixture.pack.distractors.flatMap(\.sentences)
        func skeleton(_ p: DeepPrefPair) -> String {
            var q = p.question
            for c in p.cues + distractorSentences { q = q.replacingOccurrences(of: c, with: "") }
            return q.split(separator: " ").joined(separator: " ")
        }
        let skeletons = splits.map { Set($0.map(skeleton)) }
        let shared = skeletons[0].intersection(skeletons[1]).count + skeletons[0].intersection(skeletons[2]).count
            + skeletons[1].intersection(skeletons[2]).count
        print(String(format: "max cross-split Jaccard %.3f, near-duplicate pairs %d, shared skeletons %d", maxCross, violations, shared))
        #expect(violations == 0)
        #expect(shared == 0)
    }

    @Test func tooSmallConfigurationsAreRejected() {
        #expect(throws: DeepPrefBuilderError.self) {
            _ = try DeepPrefBuilder(pack: Fixture.pack, config: DeepPrefBuildConfig(pairs: 5, seed: 1))
        }
    }
}
