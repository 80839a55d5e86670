import Resilience

/// Why a council (or judge) backend could not produce a result.
public struct CouncilError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case invalidInput        // the query cannot be annotated (empty question, ...)
        case unreachable         // the endpoint could not be reached; retriable
        case rateLimited         // HTTP 429 after every retry; retriable
        case timeout             // no answer in time after every retry; retriable
        case invalidModelOutput  // the model never returned output that passes the schema
        case httpError           // a non-retriable HTTP status, or a reply over the size limit
        case configuration       // missing URL, model or key
        case budgetExhausted     // the query's attempt or time budget ran out before it was done
    }
    public var code: Code
    public var message: String
    public var isRetriable: Bool {
        switch code {
        case .unreachable, .rateLimited, .timeout: return true
        case .invalidInput, .invalidModelOutput, .httpError, .configuration, .budgetExhausted: return false
        }
    }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
