import Events

/// What a critic backend made of one critique request.
public enum CritiqueOutcome: Sendable, Equatable {
    /// The critique chain parsed: one verdict per step of the request, the answer verdict and the
    /// final score. `text` is the raw chain as generated; `attempts` counts generations (≥ 1).
    case scored(CritiqueChain, text: String, attempts: Int)
    /// Every generation failed to parse, up to the backend's limit; the last raw text and the
    /// parse error of the last attempt. Never scored.
    case malformed(text: String, error: String, attempts: Int)
    /// No critique could be produced for this request (context overflow, an endpoint that gave up,
    /// an expired deadline, ...), with the reason.
    case failed(String)

    /// The reply event for `request`, written by `checkpointID` (nil for the oracle and endpoints).
    public func produced(for request: CritiqueRequested, checkpointID: String?) -> CritiqueProduced {
        switch self {
        case let .scored(chain, text, attempts):
            return CritiqueProduced(requestID: request.requestID, responseID: request.responseID,
                                    criticCheckpointID: checkpointID, status: .ok, stepVerdicts: chain.stepVerdicts,
                                    answerVerdict: chain.answerVerdict, finalScore: chain.finalScore,
                                    critiqueText: text, attempts: attempts)
        case let .malformed(text, error, attempts):
            return CritiqueProduced(requestID: request.requestID, responseID: request.responseID,
                                    criticCheckpointID: checkpointID, status: .malformed, critiqueText: text,
                                    error: error, attempts: max(1, attempts))
        case let .failed(reason):
            return CritiqueProduced(requestID: request.requestID, responseID: request.responseID,
                                    criticCheckpointID: checkpointID, status: .failed, error: reason, attempts: 1)
        }
    }
}

/// One way of critiquing responses: the trained PRM, the scalar baseline, the rule-based oracle or
/// a chat-completions endpoint. The critic service holds one and hands it micro-batches.
public protocol CriticBackend: Sendable {
    /// `prm`, `scalar`, `oracle` or `llm:<model>`.
    var name: String { get }
    /// The checkpoint that writes the critiques; nil for the oracle and for endpoints.
    var checkpointID: String? { get }
    /// Critiques a micro-batch: one outcome per request, in order. A problem with one request is
    /// that request's `.failed` or `.malformed` outcome; the call throws only when the backend as a
    /// whole cannot work (a `RetriableError` when trying again may help).
    func critique(_ requests: [CritiqueRequested]) async throws -> [CritiqueOutcome]
}
