import Resilience

/// Why the chat-completions client could not get a usable reply. Callers with an error type of
/// their own map it where they call the client.
public struct ChatCompletionsError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case unreachable         // the endpoint could not be reached, or kept answering 5xx; retriable
        case rateLimited         // HTTP 429 after every retry; retriable
        case timeout             // no answer in time after every retry; retriable
        case invalidModelOutput  // the reply is not a chat completion, or never passes the caller's schema
        case httpError           // a non-retriable HTTP status, or a reply larger than the size limit
        case configuration       // missing URL, model or key, or a setting that cannot be used
        case budgetExhausted     // the unit of work's attempt or time budget ran out (RequestBudget)
    }
    public var code: Code
    public var message: String
    public var isRetriable: Bool {
        switch code {
        case .unreachable, .rateLimited, .timeout: return true
        // A spent budget is not retried: trying the same work again would spend as much again.
        case .invalidModelOutput, .httpError, .configuration, .budgetExhausted: return false
        }
    }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
