import Foundation

/// Synthesizes the DeepPref benchmark from a knowledge pack, deterministically from a seed
/// (algorithm in Docs/deeppref.md).
public struct DeepPrefBuilder: Sendable {
    public let pack: KnowledgePack
    public let config: DeepPrefBuildConfig

    public static let splitNames = ["train", "validation", "test"]
    static let riskTolerances = ["low", "medium", "high"]

    public init(pack: KnowledgePack, config: DeepPrefBuildConfig) throws {
        guard config.pairs >= pack.topics.count * 10 else {
            throw DeepPrefBuilderError(.invalidConfig, "pairs must be at least 10 per topic (\(pack.topics.count * 10)), got \(config.pairs)")
        }
        guard (0.0...1.0).contains(config.distractorRate), (0.0...1.0).contains(config.clauseRate) else {
            throw DeepPrefBuilderError(.invalidConfig, "rates must be in [0, 1]")
        }
        guard config.heldOutFraction > 0, config.heldOutFraction < 0.5 else {
            throw DeepPrefBuilderError(.invalidConfig, "heldOutFraction must be in (0, 0.5), got \(config.heldOutFraction)")
        }
        self.pack = pack
        self.config = config
    }

    // MARK: - Composition

    /// The parts a question was assembled from; kept so the perturbed copy can re-word them.
    private struct Composition {
        var context: String
        var request: String
        var dimensions: [String]
        var distractorIDs: [String]
    }


    /// Builds every pair; `progress` is called after each topic with (pairs done, pairs total).
    public func build(progress: (Int, Int) -> Void = { _, _ in }) throws -> DeepPrefBenchmark {
        let topicCount = pack.topics.count
        let base = config.pairs / topicCount, extra = config.pairs % topicCount
        var all: [DeepPrefPair] = []
        var perturbed: [DeepPrefPair] = []
        for (ti, topic) in pack.topics.enumerated() {
            // Each topic has its own stream, so adding a topic to the pack leaves the others unchanged.
            var rng = SplitMix64(seed: config.seed ^ (UInt64(ti + 1) &* 0xD1B5_4A32_D192_ED03))
            let n = base + (ti < extra ? 1 : 0)
            var (pairs, comps) = try buildTopic(topic, count: n, rng: &rng)
            // Stratified split: shuffle the topic's pairs, then cut test, validation, train.
            var order = Array(0..<pairs.count)
            rng.shuffle(&order)
            let held = Int((Double(n) * config.heldOutFraction).rounded())
            for (rank, i) in order.enumerated() {
                pairs[i].split = rank < held ? "test" : rank < 2 * held ? "validation" : "train"
            }
            for i in pairs.indices where pairs[i].split == "test" {
                perturbed.append(perturb(pairs[i], comps[i], topic: topic, rng: &rng))
            }
            all += pairs
            progress(all.count, config.pairs)
        }
        return DeepPrefBenchmark(pairs: all, perturbedTest: perturbed)
    }

    private func buildTopic(_ topic: KnowledgeTopic, count n: Int,
                            rng: inout SplitMix64) throws -> ([DeepPrefPair], [Composition]) {
        var pairs: [DeepPrefPair] = []
        var comps: [Composition] = []
        var skeletons = Set<String>()
        var tokenSets: [[UInt64]] = []
        var attempts = 0
        let slots = Array(topic.fillers.keys).sorted()
        while pairs.count < n {
            attempts += 1
            if attempts > n * config.maxAttemptsPerPair {
                throw DeepPrefBuilderError(.packTooSmall,
                    "topic '\(topic.name)': only \(pairs.count) of \(n) distinct queries after \(attempts - 1) attempts")
            }
            let ci = rng.int(below: topic.contexts.count), ri = rng.int(below: topic.requests.count)
            var values: [String: String] = [:]
            for s in slots { values[s] = rng.pick(topic.fillers[s]!) }
            let used = Set(TemplateText.slots(in: topic.contexts[ci]) + TemplateText.slots(in: topic.requests[ri]))
            let skeleton = "\(ci)|\(ri)|" + slots.filter(used.contains).map { values[$0]! }.joined(separator: "|")
            if skeletons.contains(skeleton) { continue }
            let context = TemplateText.fill(topic.contexts[ci], values)
            let request = TemplateText.fill(topic.requests[ri], values)

            // 1–3 hidden preferences: 30 % one, 45 % two, 25 % three.
            let u = rng.unit()
            let k = min(topic.dimensions.count, u < 0.30 ? 1 : u < 0.75 ? 2 : 3)
            let dims = rng.sample(topic.dimensions, count: k)
            var cueSentences: [String] = []
            var cues: [String] = []
            var clause: String? = nil
            for (i, name) in dims.enumerated() {
                let d = pack.dimension(named: name)!
                if i == dims.count - 1 && rng.unit() < config.clauseRate {
                    let c = rng.pick(d.cueClauses)
                    clause = c
                    cues.append(c)
                } else {
                    let s = rng.pick(d.cueSentences)
                    cueSentences.append(s)
                    cues.append(s)
                }
            }
            var inserts = cueSentences
            var distractorIDs: [String] = []
            if rng.unit() < config.distractorRate {
                let candidates = pack.distractors.filter { !dims.contains($0.looksLike) }
                if !candidates.isEmpty {
                    let d = rng.pick(candidates)
                    distractorIDs.append(d.id)
                    inserts.append(rng.pick(d.sentences))
                }
            }
            rng.shuffle(&inserts)
            let finalRequest = clause.map { "\(request) \($0)?" } ?? "\(request)?"
            let question = ([context] + inserts + [finalRequest]).joined(separator: " ")
            let tokens = NearDuplicate.tokenSet(question)
            if tokenSets.contains(where: { NearDuplicate.jaccard($0, tokens) >= NearDuplicate.threshold }) { continue }

            skeletons.insert(skeleton)
            tokenSets.append(tokens)
            let stated = rng.pick(topic.statedPreferences)
            let risk = rng.pick(Self.riskTolerances)
            let index = pairs.count + 1
            let id = "dp-\(topic.slug)-\(pad(index))"
            let labels = dims.map { pack.dimension(named: $0)!.label }
            let explanation = "A generic answer would likely suggest \(stated.violation), ignoring the stated preference for "
                + "\(stated.focus); it would also miss the unstated concern for \(joinedList(labels)) carried by the wording "
                + "\"\(cues[0])\"."
            pairs.append(DeepPrefPair(
                id: id, topic: topic.name, preference: stated.text, question: question, explanation: explanation,
                hiddenPreferences: dims.sorted(), split: nil, profileID: "profile-\(topic.slug)-\(pad(index))",
                riskTolerance: risk, source: "deeppref-builder", cues: cues,
                distractors: distractorIDs.map { id in pack.distractors.first { $0.id == id }!.looksLike }))
            comps.append(Composition(context: context, request: request, dimensions: dims, distractorIDs: distractorIDs))
        }
        return (pairs, comps)
    }

    /// Same scenario and hidden preferences, but every cue re-worded with a held-out paraphrase and
    /// one more distractor sentence added.
    private func perturb(_ pair: DeepPrefPair, _ comp: Composition, topic: KnowledgeTopic,
                         rng: inout SplitMix64) -> DeepPrefPair {
        var inserts: [String] = []
        var cues: [String] = []
        for name in comp.dimensions {
            let s = rng.pick(pack.dimension(named: name)!.heldOutCues)
            inserts.append(s)
            cues.append(s)
        }
        var distractorIDs = comp.distractorIDs
        for id in comp.distractorIDs {
            inserts.append(rng.pick(pack.distractors.first { $0.id == id }!.sentences))
        }
        let candidates = pack.distractors.filter { !comp.dimensions.contains($0.looksLike) && !distractorIDs.contains($0.id) }
        if !candidates.isEmpty {
            let d = rng.pick(candidates)
            distractorIDs.append(d.id)
            inserts.append(rng.pick(d.sentences))
        }
        rng.shuffle(&inserts)
        var out = pair
        out.id = pair.id + "-perturbed"
        out.profileID = pair.profileID + "-perturbed"
        out.split = "test_perturbed"
        out.question = ([comp.context] + inserts + ["\(comp.request)?"]).joined(separator: " ")
        out.cues = cues
        if let old = pair.cues.first, let new = cues.first {
            out.explanation = pair.explanation.replacingOccurrences(of: "\"\(old)\"", with: "\"\(new)\"")
        }
        out.distractors = distractorIDs.map { id in pack.distractors.first { $0.id == id }!.looksLike }
        return out
    }

    private func pad(_ i: Int) -> String {
        let s = String(i)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

/// "a", "a and b", "a, b and c" (also the built-in council's wording).
package func joinedList(_ items: [String]) -> String {
    switch items.count {
    case 0: return ""
    case 1: return items[0]
    default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}
