/// One named check behind `GET /health`, e.g. "database" (a `SELECT 1` answers) or "kafka" (the
/// broker metadata can be fetched). `/health` answers 200 only when every check returns `true`
/// within its timeout; a check that times out counts as failing.
public struct HealthCheck: Sendable {
    /// Shown in the `/health` response; keep it short and stable ("database", "kafka").
    public var name: String
    /// Longest a check may take before it counts as failing.
    /// Default: 2 seconds
    public var timeout: Duration
    public var check: @Sendable () async -> Bool

    public init(_ name: String, timeout: Duration = .seconds(2), check: @escaping @Sendable () async -> Bool) {
        precondition(!name.isEmpty, "a health check needs a name")
        precondition(timeout > .zero, "a health check timeout must be positive")
        self.name = name
        self.timeout = timeout
        self.check = check
    }
}
