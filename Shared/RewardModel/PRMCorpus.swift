import DeepPref
import Dispatch
import Foundation
import Resilience
import Events
import OracleJudge

/// Builds the labelled PRM corpus from annotated queries: per query the two references, the mixed
/// chains and the garbled chains (or, for the probe set, the probe kinds), each labelled by the
/// step oracle. Deterministic: the same annotations give the same corpus.
public struct PRMCorpus: Sendable {
    public let oracle: StepOracle
    public let variants: ChainVariants

    public init(pack: KnowledgePack) {
        oracle = StepOracle(pack: pack)
        variants = ChainVariants(pack: pack)
    }

    /// The training corpus of `items`: references, mixed and garbled chains (labelled on every core).
    public func examples(_ items: [AnnotatedQuery]) -> [PRMExample] {
        build(items) { item, other in
            var chains = [variants.aligned(item), variants.superficial(item)] + variants.mixed(item)
            if let other { chains += variants.garbled(item, other: other) }
            return chains
        }
    }

    /// The garbled probe set: only kinds that training never sees.
    public func probes(_ items: [AnnotatedQuery]) -> [PRMExample] {
        build(items) { item, other in
            other.map { variants.garbled(item, other: $0, kinds: ChainVariants.probeKinds) } ?? []
        }
    }

    /// Makes and labels the chains of every query, in parallel; the result is in query order.
    private func build(_ items: [AnnotatedQuery],
                       _ make: @Sendable (AnnotatedQuery, AnnotatedQuery?) -> [ChainVariant]) -> [PRMExample] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count))
        let results = Locked([[PRMExample]](repeating: [], count: items.count))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < items.count {
                let labelled = make(items[i], Self.partner(of: i, in: items)).map { label($0, items[i]) }
                results.withLock { $0[i] = labelled }
                i += workers
            }
        }
        return results.current.flatMap { $0 }
    }

    public func label(_ variant: ChainVariant, _ item: AnnotatedQuery) -> PRMExample {
        PRMExample(queryID: item.query.queryID, split: item.query.split ?? "train", profile: item.query.profile,
                   question: item.query.question, variant: variant,
                   label: oracle.critique(item, steps: variant.steps, answer: variant.answer))
    }

    /// The query spliced material comes from: the next one in the list whose hidden preferences differ.
    static func partner(of i: Int, in items: [AnnotatedQuery]) -> AnnotatedQuery? {
        guard items.count > 1 else { return nil }
        let own = Set(items[i].query.hiddenPreferences)
        for step in 1..<items.count {
            let candidate = items[(i + step * 7) % items.count]
            if candidate.query.queryID != items[i].query.queryID && Set(candidate.query.hiddenPreferences) != own {
                return candidate
            }
        }
        return items[(i + 1) % items.count]
    }
}
