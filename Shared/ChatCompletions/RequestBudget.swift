import Foundation
import Resilience

/// What one unit of work (a council query, one critique) may spend across all its requests: HTTP
/// attempts (retries, re-asks and re-samples included) and wall time from the budget's creation
/// (waiting for a request slot included). Shared by the concurrent requests of the unit; the client
/// takes an attempt before each HTTP request, shortens an attempt's timeout to the time left, and
/// throws `.budgetExhausted` once either runs out, so a unit of work never runs on unbounded.
public final class RequestBudget: Sendable {
    /// HTTP attempts the unit may make. Default (``init(_:)``): `CDRA_LLM_QUERY_MAX_ATTEMPTS`.
    public let maxAttempts: Int
    /// Wall time the unit may take. Default (``init(_:)``): `CDRA_LLM_QUERY_TIMEOUT`.
    public let timeLimit: Duration
    private let started: ContinuousClock.Instant
    private let used = Locked(0)

    public init(maxAttempts: Int, timeLimit: Duration) {
        precondition(maxAttempts >= 1, "a budget needs at least one attempt")
        precondition(timeLimit > .zero, "a budget needs time")
        self.maxAttempts = maxAttempts
        self.timeLimit = timeLimit
        started = .now
    }

    /// The configuration's per-query budget, starting now.
    public convenience init(_ configuration: LLMEndpointConfiguration) {
        self.init(maxAttempts: configuration.queryMaxAttempts, timeLimit: .seconds(configuration.queryTimeout))
    }

    /// HTTP attempts taken so far.
    public var attemptsUsed: Int { used.current }

    /// Time left, never negative.
    public var remaining: Duration {
        max(.zero, timeLimit - (ContinuousClock.now - started))
    }

    /// Takes one attempt, or throws `.budgetExhausted` when none or no time is left. `lastError`
    /// (what went wrong before) is named in the message.
    func takeAttempt(after lastError: ChatCompletionsError?) throws {
        if remaining <= .zero { throw timeExhausted(after: lastError) }
        let granted = used.withLock { count -> Bool in
            guard count < maxAttempts else { return false }
            count += 1
            return true
        }
        guard granted else {
            throw ChatCompletionsError(.budgetExhausted,
                "the budget of \(maxAttempts) HTTP attempts for one query is used up"
                    + Self.suffix(lastError) + " (CDRA_LLM_QUERY_MAX_ATTEMPTS)")
        }
    }

    func timeExhausted(after lastError: ChatCompletionsError?) -> ChatCompletionsError {
        ChatCompletionsError(.budgetExhausted,
            "the time budget of \(Self.seconds(timeLimit)) s for one query ran out"
                + Self.suffix(lastError) + " (CDRA_LLM_QUERY_TIMEOUT)")
    }

    private static func suffix(_ error: ChatCompletionsError?) -> String {
        error.map { "; last error: \($0.description)" } ?? ""
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = duration.seconds
        return value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
    }
}
