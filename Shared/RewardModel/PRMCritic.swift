import Critique
import Events
import Foundation
import LanguageModel
import Resilience

/// The critic's `prm` and `scalar` backends: a reward model trained here, generating critique
/// chains (or only the final score) for a micro-batch at once with the KV cache.
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
    private let model: Transformer
    /// The model's forward pass keeps its state in the model object: one batch at a time.
    private let serial = Locked(())

    public init(model: Transformer, format: PRMFormat, checkpointID: String?, maxAttempts: Int = 3,
                retryTemperature: Float = 0.7) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.model = model
        self.format = format
        self.checkpointID = checkpointID
        self.maxAttempts = maxAttempts
        self.retryTemperature = retryTemperature
        name = format.target == .critique ? "prm" : "scalar"
    }

    /// Loads a stored reward-model checkpoint (its config names the target, `critique` or `scalar`).
    public static func load(checkpointID: String, safetensors: [UInt8], configJSON: String, maxAttempts: Int = 3) throws -> PRMCritic {
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
        return PRMCritic(model: checkpoint.model, format: try PRMFormat(tokenizer: tokenizer, target: target),
                         checkpointID: checkpointID, maxAttempts: maxAttempts)
    }

    public func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        try serial.withLock { _ in try critiqueNow(requests) }
    }

    /// Synchronous form of ``critique(_:)``, for evaluation loops.
    public func critiqueNow(_ requests: [CritiqueRequested], seed: UInt64 = 0) throws -> [CritiqueOutcome] {
        let context = model.config.contextLength
        var outcomes = [CritiqueOutcome?](repeating: nil, count: requests.count)
        var prompts: [Int: [Int32]] = [:]
        for (i, request) in requests.enumerated() {
            if request.steps.isEmpty && request.answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                outcomes[i] = .failed("the response has neither steps nor an answer")
                continue
            }
            let prompt = format.promptTokens(request)
            let needed = prompt.count + format.minimumCritiqueTokens(steps: request.steps.count)
            guard needed <= context else {
                outcomes[i] = .failed("the request needs \(prompt.count) prompt tokens plus room for its critique; "
                                      + "the model's context is \(context) tokens")
                continue
            }
            prompts[i] = prompt
        }
        var pending = prompts.keys.sorted()
        var lastText: [Int: String] = [:], lastError: [Int: String] = [:]
        for attempt in 1...maxAttempts where !pending.isEmpty {
            let budget = pending.map { min(format.generationBudget(steps: requests[$0].steps.count), context - prompts[$0]!.count) }
            let options = SamplingOptions(temperature: attempt == 1 ? 0 : retryTemperature, topK: 0, topP: 1,
                                          maxNewTokens: budget.max() ?? 1, stopTokens: [format.eos],
                                          seed: seed &+ UInt64(attempt) &* 0x9E37_79B9)
            let generated = try model.generate(prompts: pending.map { prompts[$0]! }, options: options)
            var still: [Int] = []
            for (j, i) in pending.enumerated() {
                var tokens = generated[j].tokens
                if tokens.last == format.eos { tokens.removeLast() }
                let text = format.tokenizer.decode(Array(tokens.prefix(budget[j])))
                do {
                    let chain = try parse(text, steps: requests[i].steps.count)
                    outcomes[i] = .scored(chain, text: text, attempts: attempt)
                } catch {
                    lastText[i] = text
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
