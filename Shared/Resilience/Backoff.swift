/// How long to wait before retrying: exponential growth from ``initial``, capped at ``maximum``,
/// with jitter so that replicas failing together do not retry in lockstep. The one retry policy of
/// the code base (the event processor and the chat-completions client both use it).
///
/// The wait before retry number n (1-based) is drawn uniformly from
/// `[b·(1−jitter), b·(1+jitter)]` with `b = initial · 2^(n−1)`, and then capped at ``maximum``.
/// A server's hint (an HTTP `Retry-After`) raises the wait to at least the hint, still capped.
public struct Backoff: Sendable, Equatable, CustomStringConvertible {
    /// Wait before the first retry.
    /// Default: 100 ms
    public var initial: Duration {
        didSet { precondition(initial >= .zero, "initial backoff must not be negative") }
    }
    /// Upper bound of one wait, the jitter and a server's hint included.
    /// Default: 10 s
    public var maximum: Duration {
        didSet { precondition(maximum >= .zero, "maximum backoff must not be negative") }
    }
    /// Share of the wait that is random, in 0...1.
    /// Default: 0.2
    public var jitter: Double {
        didSet { precondition((0...1).contains(jitter), "jitter must be in 0...1") }
    }

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10), jitter: Double = 0.2) {
        precondition(initial >= .zero && maximum >= .zero, "backoff must not be negative")
        precondition((0...1).contains(jitter), "jitter must be in 0...1")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The wait before retry number `attempt` (1-based), at least `hint` when one is given.
    public func delay(attempt: Int, atLeast hint: Duration? = nil) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, atLeast: hint, using: &generator)
    }

    /// As ``delay(attempt:atLeast:)``, drawing the jitter from `generator` (tests pass a seeded one).
    public func delay<G: RandomNumberGenerator>(attempt: Int, atLeast hint: Duration? = nil,
                                                using generator: inout G) -> Duration {
        let cap = maximum.seconds
        let exponent = max(0, attempt - 1)
        let base = exponent >= 62 ? cap : min(cap, initial.seconds * Double(1 << exponent))
        let factor = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &generator) : 1
        var wait = min(cap, base * factor)
        if let hint { wait = min(cap, max(wait, hint.seconds)) }
        return .nanoseconds(Int64(wait * 1e9))
    }

    public var description: String { "backoff(initial: \(initial), maximum: \(maximum), jitter: \(jitter))" }
}
