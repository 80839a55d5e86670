import Critique
import Events

/// A deterministic critic backend for tests and benchmarks of the critic service; it is no model.
/// It scores a response by its number of steps (``score(stepCount:)``), writes the critique chain
/// in the published text form and reads it back with ``CritiqueChainParser``, so its replies go
/// through the same path as a model's. It can be slowed down, so that a crash lands in the middle
/// of a micro-batch, and it has a context limit, so that an over-long request fails as it would
/// with a model.
///
/// The critic executable offers it as `--backend fixture`, for the end-to-end tests and
/// `critic bench`; it must never answer real requests.
public struct FixtureCritic: CriticBackend {
    /// The backend name in replies, the database and `--backend`.
    public static let backendName = "fixture"

    public var name: String { Self.backendName }
    /// The checkpoint it pretends to have been loaded from; nil when it was made without one.
    public let checkpointID: String?
    /// Time spent on each request (a sleep, not compute).
    /// Default: zero
    public var delayPerRequest: Duration
    /// Characters of stated preference, question, steps and answer a request may have; a longer
    /// one is `.failed` like a request over a model's context.
    /// Default: ``defaultContextCharacters``
    public var contextCharacters: Int

    /// 8,192 characters.
    public static let defaultContextCharacters = 8_192

    public init(checkpointID: String? = nil, delayPerRequest: Duration = .zero,
                contextCharacters: Int = FixtureCritic.defaultContextCharacters) {
        precondition(delayPerRequest >= .zero, "the delay must not be negative")
        precondition(contextCharacters > 0, "the context must hold something")
        self.checkpointID = checkpointID
        self.delayPerRequest = delayPerRequest
        self.contextCharacters = contextCharacters
    }

    public func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome] {
        var outcomes: [CritiqueOutcome] = []
        outcomes.reserveCapacity(requests.count)
        for request in requests {
            if delayPerRequest > .zero { try await Task.sleep(for: delayPerRequest) }
            outcomes.append(outcome(for: request))
        }
        return outcomes
    }

    /// The final score, every step's score and the answer's score for a response with
    /// `stepCount` steps: a tenth per step, at most 1.
    public static func score(stepCount: Int) -> Double {
        Double(min(stepCount, 10)) / 10
    }

    /// Characters of a request that count against ``contextCharacters``.
    public static func contextUsed(by request: CritiqueRequested) -> Int {
        request.profile.statedPreference.count + request.question.count + request.answer.count
            + request.steps.reduce(0) { $0 + $1.count }
    }

    func outcome(for request: CritiqueRequested) -> CritiqueOutcome {
        let used = Self.contextUsed(by: request)
        guard used <= contextCharacters else {
            return .failed("the request needs \(used) characters of context; the fixture critic holds \(contextCharacters)")
        }
        let steps = request.steps.count
        let score = Self.score(stepCount: steps)
        let chain = CritiqueChain(
            stepVerdicts: (0..<steps).map { StepVerdict(index: $0 + 1, critique: "fixture verdict on step \($0 + 1) of \(steps)", score: score) },
            answerVerdict: AnswerVerdict(critique: "fixture verdict on an answer after \(steps) step(s)", score: score),
            finalScore: score)
        let text = chain.text
        do {
            return .scored(try CritiqueChainParser(expectedSteps: steps).parse(text), text: text, attempts: 1)
        } catch {
            return .malformed(text: text, error: "\(error)", attempts: 1)
        }
    }
}
