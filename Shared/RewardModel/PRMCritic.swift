import Critique
import Events
import Foundation
import LanguageModel
import Resilience

/// The critic's `prm` and `scalar` backends: a reward model trained here, generating critique
/// chains (or only the final score) for a micro-batch at once with the KV cache.
///
/// With the interleaved layout each step's critique is generated right after the step, and the
/// response and the chain's labels are fed, not generated (``PRMFormat``). The final score is the
/// model's own final line by default, or the aggregation of its verdicts (``FinalScore``).
///
/// The first generation is greedy; a generation that does not parse is sampled again with a new
/// seed, up to ``maxAttempts`` generations, and then reported `malformed` with its raw text. It
/// is never scored as 0. A request whose prompt does not fit the model's context is `failed`.
public final class PRMCritic: CriticBackend, @unchecked Sendable {
    public let name: String
    public let checkpointID: String?
    public let format: PRMFormat
    /// Generations per request before it is reported malformed. Default: 3
    public let maxAttempts: Int
    /// Sampling temperature of the retries. Default: 0.7
    public let retryTemperature: Float
    /// Where the final score comes from (critique target only). Default: generated
    public let finalScore: FinalScore
    private let model: Transformer
    /// The model's forward pass keeps its state in the model object: one batch at a time.
    private let serial = Locked(())

    public init(model: Transformer, format: PRMFormat, checkpointID: String?, maxAttempts: Int = 3,
                retryTemperature: Float = 0.7, finalScore: FinalScore = .generated) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.model = model
        self.format = format
        self.checkpointID = checkpointID
        self.maxAttempts = maxAttempts
        self.retryTemperature = retryTemperature
        self.finalScore = format.target == .scalar ? .generated : finalScore
        name = format.target == .critique ? "prm" : "scalar"
    }

    /// Loads a stored reward-model checkpoint (its config names the target, `critique` or `scalar`).
    public static func load(checkpointID: String, safetensors: [UInt8], configJSON: String, maxAttempts: Int = 3,
                            finalScore: FinalScore = .generated) throws -> PRMCritic {
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint(bytes: safetensors)
        } catch {
            throw ModelError(.malformedCheckpoint, "checkpoint \(checkpointID) does not load: \(error)")
        }
        guard let tokenizer = checkpoint.tokenizer else {
            throw ModelError(.malformedCheckpoint, "checkpoint \(checkpointID) carries no tokenizer")
        }
        let target = PRMTrainingConfig.target(inConfigJSON: configJSON) ?? .critique
        let layout = PRMTrainingConfig.layout(inConfigJSON: configJSON)
        return PRMCritic(model: checkpoint.model, format: try PRMFormat(tokenizer: tokenizer, target: target, layout: layout),
                         checkpointID: checkpointID, maxAttempts: maxAttempts, finalScore: finalScore)
    }

    public func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        try serial.withLock { _ in try critiqueNow(requests) }
    }

    /// Synchronous form of ``critique(_:)``, for evaluation loops.
    public func critiqueNow(_ requests: [CritiqueRequested], seed: UInt64 = 0) throws -> [CritiqueOutcome] {
        let context = model.config.contextLength
        var outcomes = [CritiqueOutcome?](repeating: nil, count: requests.count)
        var plans: [Int: PRMFormat.DecodingPlan] = [:]
        for (i, request) in requests.enumerated() {
            if request.steps.isEmpty && request.answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                outcomes[i] = .failed("the response has neither steps nor an answer")
                continue
            }
            let plan = format.decodingPlan(request)
            let needed = plan.fedCount + format.minimumCritiqueTokens(steps: request.steps.count)
            guard needed <= context else {
                outcomes[i] = .failed("the request needs \(plan.fedCount) tokens of profile, question and response plus room for its "
                                      + "critique; the model's context is \(context) tokens")
                continue
            }
            plans[i] = plan
        }
        var pending = plans.keys.sorted()
        var lastText: [Int: String] = [:], lastError: [Int: String] = [:]
        let aggregated = finalScore == .aggregated
        for attempt in 1...maxAttempts where !pending.isEmpty {
            let options = SamplingOptions(temperature: attempt == 1 ? 0 : retryTemperature, topK: 0, topP: 1,
                                          maxNewTokens: pending.map { format.generationBudget(steps: requests[$0].steps.count) }.max() ?? 1,
                                          stopTokens: [format.eos], seed: seed &+ UInt64(attempt) &* 0x9E37_79B9)
            let texts: [String]
            switch format.layout {
            case .afterResponse: texts = try generateAfterResponse(pending.map { requests[$0] }, pending.map { plans[$0]! }, options)
            case .interleaved: texts = try generateInterleaved(pending.map { requests[$0] }, pending.map { plans[$0]! }, options)
            }
            var still: [Int] = []
            for (j, i) in pending.enumerated() {
                do {
                    // Aggregated: the chain is read up to the answer's verdict (the final line is
                    // a placeholder the aggregation replaces).
                    let text = aggregated ? Self.withoutFinalLine(texts[j]) + "\nFinal score: 0" : texts[j]
                    let parsed = try parse(text, steps: requests[i].steps.count)
                    let chain = aggregated ? Self.aggregated(parsed) : parsed
                    outcomes[i] = .scored(chain, text: chain.text, attempts: attempt)
                } catch {
                    lastText[i] = texts[j]
                    lastError[i] = "\(error)"
                    still.append(i)
                }
            }
            pending = still
        }
        for i in pending {
            outcomes[i] = .malformed(text: lastText[i] ?? "", error: lastError[i] ?? "unparsable", attempts: maxAttempts)
        }
        return outcomes.map { $0! }
    }

    /// How the final score is decided.
    public enum FinalScore: String, Sendable, CaseIterable {
        /// The number the model writes on its "Final score:" line.
        case generated
        /// The step oracle's aggregation (``CritiqueChain/aggregateFinalScore(stepScores:answerScore:)``)
        /// of the model's own step and answer verdicts, capped at the answer's score when the model's
        /// answer verdict is a format-gate rejection. The model's own final line is not generated.
        case aggregated
    }

    /// The whole chain after the whole response; the text is what the model wrote.
    private func generateAfterResponse(_ requests: [CritiqueRequested], _ plans: [PRMFormat.DecodingPlan],
                                       _ options: SamplingOptions) throws -> [String] {
        let generated = try model.generate(prompts: plans.map(\.prompt), options: options)
        return zip(requests, generated).map { request, g in
            var tokens = g.tokens
            if tokens.last == format.eos { tokens.removeLast() }
            return format.tokenizer.decode(Array(tokens.prefix(format.generationBudget(steps: request.steps.count))))
        }
    }

    /// Each step's critique right after the step: the guide feeds the next part when a critique
    /// line ends, and "Final score: " after the answer's (or ends there when the final score is
    /// aggregated). The text is the chain rebuilt from the generated critiques.
    private func generateInterleaved(_ requests: [CritiqueRequested], _ plans: [PRMFormat.DecodingPlan],
                                     _ options: SamplingOptions) throws -> [String] {
        var part = [Int](repeating: 0, count: requests.count)
        var current = [[Int32]](repeating: [], count: requests.count)
        var lines = [[String]](repeating: [], count: requests.count)
        var overlong = [Bool](repeating: false, count: requests.count)
        let tokenizer = format.tokenizer, budget = format.partBudget, lineBreaks = format.lineBreaks
        let aggregated = finalScore == .aggregated
        _ = try model.generate(prompts: plans.map(\.prompt), options: options) { s, token in
            current[s].append(token)
            if current[s].count > budget { overlong[s] = true; return .finish }
            guard lineBreaks.contains(token) else { return .proceed }
            let text = tokenizer.decode(current[s])
            lines[s].append(String(text[..<(text.firstIndex(where: \.isNewline) ?? text.endIndex)]))
            current[s] = []
            part[s] += 1
            if part[s] < plans[s].feeds.count + 1 { return .feed(plans[s].feeds[part[s] - 1]) }
            if part[s] == plans[s].feeds.count + 1 && !aggregated { return .feed(plans[s].finalLead) }
            return .finish
        }
        return requests.indices.map { s in
            var tail = current[s]
            if tail.last == format.eos { tail.removeLast() }
            if !tail.isEmpty && part[s] <= plans[s].feeds.count + 1 {
                lines[s].append(tokenizer.decode(tail) + (overlong[s] ? " …(critique over \(budget) tokens)" : ""))
            }
            let steps = requests[s].steps.count
            return lines[s].enumerated().map { j, line in
                j < steps ? "Step \(j + 1): " + line : (j == steps ? "Answer: " : "Final score: ") + line
            }.joined(separator: "\n")
        }
    }

    /// The text without its "Final score:" lines.
    static func withoutFinalLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("final score:") }
            .joined(separator: "\n")
    }

    /// The chain with its final score replaced by the aggregation of its verdicts (``FinalScore/aggregated``).
    public static func aggregated(_ chain: CritiqueChain) -> CritiqueChain {
        var final = CritiqueChain.aggregateFinalScore(stepScores: chain.stepVerdicts.map(\.score),
                                                      answerScore: chain.answerVerdict.score)
        if chain.answerVerdict.critique.lowercased().hasPrefix("format gate") { final = min(final, chain.answerVerdict.score) }
        var out = chain
        out.finalScore = (min(1, max(-1, final)) * 100).rounded() / 100
        return out
    }

    /// Reads a generation: the whole chain for the PRM, the one "Final score:" line for the scalar model.
    public func parse(_ text: String, steps: Int) throws -> CritiqueChain {
        switch format.target {
        case .critique:
            return try CritiqueChainParser(expectedSteps: steps).parse(text)
        case .scalar:
            let score = try Self.scalarScore(text)
            return CritiqueChain(stepVerdicts: [], answerVerdict: AnswerVerdict(critique: "scalar reward model", score: score),
                                 finalScore: score)
        }
    }

    /// "Final score: s" (one line, s in [−1, 1]) → s.
    static func scalarScore(_ text: String) throws -> Double {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "final score:"
        guard t.lowercased().hasPrefix(prefix) else {
            throw CritiqueChainParseError(.missingFinalScore, line: 1, "expected 'Final score: s'")
        }
        let rest = t.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\u{2212}", with: "-")
        guard !rest.contains("\n"), let s = Double(rest), s.isFinite else {
            throw CritiqueChainParseError(.invalidScore, line: 1, "'\(rest.prefix(20))' is not a score")
        }
        guard (-1...1).contains(s) else { throw CritiqueChainParseError(.scoreOutOfRange, line: 1, "\(s) is outside [-1, 1]") }
        return s
    }
}
