import Foundation

/// Why one query could not be annotated (or one response judged): enough for a dead-letter
/// record or an `.errors` file line. Never holds an API key.
public struct CouncilFailure: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var queryID: String
    /// The backend's name, e.g. `llm:gpt-4o-mini` or `builtin`.
    public var backend: String
    /// Which step failed: `input`, `configuration`, `persona:<name>`, `moderator`, `judge`, `council`.
    public var stage: String
    public var code: CouncilError.Code
    /// Human-readable; safe to log.
    public var reason: String
    /// HTTP requests made for this query, retries and re-asks included (0 when none was sent).
    public var attempts: Int
    /// The last model output received, truncated to 2,000 characters; nil when there was none.
    public var lastRawOutput: String?
    public var failedAt: Date

    public init(queryID: String, backend: String, stage: String, code: CouncilError.Code, reason: String,
                attempts: Int, lastRawOutput: String?, failedAt: Date = Date()) {
        self.queryID = queryID
        self.backend = backend
        self.stage = stage
        self.code = code
        self.reason = reason
        self.attempts = attempts
        self.lastRawOutput = lastRawOutput.map { $0.count > 2000 ? String($0.prefix(2000)) + "…" : $0 }
        self.failedAt = failedAt
    }

    /// A record for a backend that only throws (such as the built-in council).
    public init(queryID: String, backend: String, error: any Error, failedAt: Date = Date()) {
        let councilError = (error as? CouncilError) ?? CouncilError(.invalidInput, "\(error)")
        self.init(queryID: queryID, backend: backend, stage: "council", code: councilError.code,
                  reason: councilError.message, attempts: 0, lastRawOutput: nil, failedAt: failedAt)
    }

    /// The error to throw from ``CouncilBackend/annotate(_:)``.
    public var error: CouncilError { CouncilError(code, "\(stage): \(reason)") }
    public var isRetriable: Bool { error.isRetriable }
    public var description: String { "query \(queryID) [\(backend), \(stage)] \(code.rawValue): \(reason) (attempts: \(attempts))" }

    enum CodingKeys: String, CodingKey {
        case queryID = "query_id", backend, stage, code, reason, attempts
        case lastRawOutput = "last_raw_output", failedAt = "failed_at", retriable
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        queryID = try c.decode(String.self, forKey: .queryID)
        backend = try c.decode(String.self, forKey: .backend)
        stage = try c.decode(String.self, forKey: .stage)
        let codeText = try c.decode(String.self, forKey: .code)
        guard let code = CouncilError.Code(rawValue: codeText) else {
            throw DecodingError.dataCorruptedError(forKey: .code, in: c, debugDescription: "unknown code '\(codeText)'")
        }
        self.code = code
        reason = try c.decode(String.self, forKey: .reason)
        attempts = try c.decode(Int.self, forKey: .attempts)
        lastRawOutput = try c.decodeIfPresent(String.self, forKey: .lastRawOutput)
        failedAt = try c.decode(Date.self, forKey: .failedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(queryID, forKey: .queryID)
        try c.encode(backend, forKey: .backend)
        try c.encode(stage, forKey: .stage)
        try c.encode(code.rawValue, forKey: .code)
        try c.encode(reason, forKey: .reason)
        try c.encode(attempts, forKey: .attempts)
        try c.encodeIfPresent(lastRawOutput, forKey: .lastRawOutput)
        try c.encode(failedAt, forKey: .failedAt)
        try c.encode(isRetriable, forKey: .retriable)
    }
}
