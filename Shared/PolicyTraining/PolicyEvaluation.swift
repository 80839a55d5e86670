import Critique
import DeepPref
import Events
import Foundation
import LanguageModel
import OracleJudge

/// A policy's responses to a fixed set of prompts, judged (DESIGN §8): one response per prompt,
/// sampled with a fixed seed, so the same weights give the same responses. Each is checked by the
/// format gate, the oracle judge's eight checks and the step oracle, and (outside this type) scored
/// by the critic. The trainer's periodic evaluation and the evaluator service both use it.
public struct PolicyEvaluation {
    /// How responses are sampled. Part of an evaluation's identity: other settings are another
    /// evaluation.
    public struct Sampling: Codable, Sendable, Equatable {
        public var seed: UInt64 = 0xE7A1
        public var temperature: Float = 1
        public var maxNewTokens = 400

        public init(seed: UInt64 = 0xE7A1, temperature: Float = 1, maxNewTokens: Int = 400) {
            self.seed = seed
            self.temperature = temperature
            self.maxNewTokens = maxNewTokens
        }

        enum CodingKeys: String, CodingKey { case seed, temperature, maxNewTokens = "max_new_tokens" }
    }

    /// One judged response.
    public struct Example: Sendable {
        public var item: AnnotatedQuery
        public var text: String
        /// The parsed steps and answer; no steps and the whole text as the answer when the layout
        /// does not parse.
        public var steps: [String]
        public var answer: String
        /// Parsed and passed the format gate; only those go to the critic.
        public var formatValid: Bool
        public var verdict: JudgeVerdict
        /// The step oracle's final score in [-1, 1].
        public var oracleScore: Double
        /// Share of the query's hidden preferences whose dimension a step names; nil without any.
        public var hiddenRecall: Double?

        public var topic: String { item.query.topic ?? "unknown" }
    }

    public let format: PolicyFormat
    public let oracle: StepOracle
    public let judge: BuiltinJudge
    private let labels: [String: [PhrasePattern]]

    public init(format: PolicyFormat, pack: KnowledgePack) {
        self.format = format
        oracle = StepOracle(pack: pack)
        judge = BuiltinJudge(pack: pack)
        labels = Dictionary(pack.dimensions.map { d in
            (d.name, [PhrasePattern(d.label), PhrasePattern(d.name.replacingOccurrences(of: "_", with: " "))])
        }, uniquingKeysWith: { a, _ in a })
    }

    /// The items whose prompt leaves `room` tokens for a response in the policy's context.
    public func fitting(_ items: [AnnotatedQuery], contextLength: Int, room: Int = 32) -> [AnnotatedQuery] {
        items.filter { format.promptTokens(profile: $0.query.profile, question: $0.query.question).count + room <= contextLength }
    }

    /// Samples one response per item (in batches of `batch` prompts, reporting progress) and judges each.
    public func run(policy: Transformer, items: [AnnotatedQuery], sampling: Sampling, batch: Int = 64,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> [Example] {
        var examples: [Example] = []
        examples.reserveCapacity(items.count)
        // Each batch gets its own seed from the evaluation seed and its position, so a response
        // depends only on the seed, the weights and which batch its prompt is in.
        for (b, start) in stride(from: 0, to: items.count, by: max(1, batch)).enumerated() {
            let chunk = Array(items[start..<min(items.count, start + max(1, batch))])
            let prompts = chunk.map { format.promptTokens(profile: $0.query.profile, question: $0.query.question) }
            let options = SamplingOptions(temperature: sampling.temperature, maxNewTokens: sampling.maxNewTokens,
                                          stopTokens: [format.eos], seed: sampling.seed &+ UInt64(b))
            let generated = try policy.generate(prompts: prompts, options: options)
            for (item, g) in zip(chunk, generated) { examples.append(judged(item, text: format.text(g.tokens))) }
            progress(examples.count, items.count)
        }
        return examples
    }

    /// One response, judged.
    public func judged(_ item: AnnotatedQuery, text: String) -> Example {
        let layout = ResponseLayout.parse(text)
        let parsed = layout ?? (steps: [], answer: text)
        let valid = layout != nil && oracle.gate.check(steps: parsed.steps, answer: parsed.answer).passed
        let score = oracle.critique(item, steps: parsed.steps, answer: parsed.answer).finalScore
        let verdict = judge.verdict(query: item.query, annotation: item.annotation, response: parsed.answer)
        var recall: Double?
        let hidden = Set(item.query.hiddenPreferences)
        if !hidden.isEmpty {
            // A hidden preference is recalled when a step names its dimension (label or name).
            let steps = ScannedText(parsed.steps.joined(separator: "\n"))
            let named = hidden.filter { d in labels[d]?.contains(where: steps.contains) ?? false }
            recall = Double(named.count) / Double(hidden.count)
        }
        return Example(item: item, text: text, steps: parsed.steps, answer: parsed.answer, formatValid: valid,
                       verdict: verdict, oracleScore: score, hiddenRecall: recall)
    }

    /// The measures over examples: `acc_pf`, `acc_da`, `acc_mis`, `m_dm`, `m_ie`,
    /// `hidden_pref_recall`, `oracle_score`, `format_valid`; with critic scores (by example index;
    /// nil when gated or not scored) `prm_score` and `prm_scored`; with wins against a baseline
    /// (1, 0.5 or 0 per example) `win_rate`. Empty for no examples.
    public static func measures(_ examples: [Example], prmScores: [Double?]? = nil, wins: [Double]? = nil) -> [String: Double] {
        guard !examples.isEmpty else { return [:] }
        let n = Double(examples.count)
        let judged = JudgeMetrics(verdicts: examples.map(\.verdict))
        let recalls = examples.compactMap(\.hiddenRecall)
        var m: [String: Double] = [
            "acc_pf": judged.accPF, "acc_da": judged.accDA, "acc_mis": judged.accMis, "m_dm": judged.mDM, "m_ie": judged.mIE,
            "hidden_pref_recall": recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count),
            "oracle_score": examples.reduce(0) { $0 + $1.oracleScore } / n,
            "format_valid": Double(examples.filter(\.formatValid).count) / n,
        ]
        if let prmScores {
            let scored = prmScores.compactMap { $0 }
            // A gated response gets the gate's score, as in training: the critic never sees it.
            let all = zip(examples, prmScores).map { e, s in s ?? (e.formatValid ? nil : FormatGate.rejectedScore) }.compactMap { $0 }
            m["prm_score"] = all.isEmpty ? 0 : all.reduce(0, +) / Double(all.count)
            m["prm_scored"] = Double(scored.count)
        }
        if let wins, !wins.isEmpty { m["win_rate"] = wins.reduce(0, +) / Double(wins.count) }
        return m
    }

    /// The response to `example` beats `baseline`'s on the oracle's score: 1, a tie 0.5, else 0.
    public static func win(_ example: Example, over baselineScore: Double) -> Double {
        example.oracleScore > baselineScore ? 1 : example.oracleScore == baselineScore ? 0.5 : 0
    }
}
