import Resilience

/// A failure of the PostgreSQL store. ``isRetriable`` decides whether a consumer retries the
/// batch (connection lost, serialization failure, server restarting) or gives up on it.
public struct StoreError: RetriableError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case invalidConfiguration // the URL or a setting cannot be used as given
        case connectionFailed     // could not open a connection (server down, wrong port, auth)
        case connectionLost       // the connection broke during or between calls
        case queryFailed          // the server rejected a statement
        case uniqueViolation      // 23505
        case foreignKeyViolation  // 23503
        case serialization        // 40001 serialization failure or 40P01 deadlock
        case copyFailed           // COPY FROM STDIN did not complete
        case migrationFailed      // a migration is malformed, failed, or was changed after it was applied
        case decodingFailed       // a result value could not be read as the requested type
        case shutDown             // the Database was shut down; later calls fail at once
    }

    public var code: Code
    /// Human-readable detail; never contains a password.
    public var message: String
    /// The five-character SQLSTATE reported by the server, when there is one.
    public var sqlState: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    /// True when the same call can succeed later without any change: the connection broke or
    /// could not be opened, the server is shutting down or starting, or the transaction lost a
    /// serialization race. A consumer retries the whole transaction with backoff.
    public var isRetriable: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .serialization:
            return true
        case .invalidConfiguration, .uniqueViolation, .foreignKeyViolation, .migrationFailed, .decodingFailed,
             .shutDown:
            return false
        case .queryFailed, .copyFailed:
            return sqlState.map(Self.isRetriableSQLState) ?? false
        }
    }

    /// SQLSTATEs after which repeating the transaction is expected to work.
    static func isRetriableSQLState(_ state: String) -> Bool {
        if state.hasPrefix("08") { return true }        // connection exception class
        switch state {
        case "40001",  // serialization_failure
             "40P01",  // deadlock_detected
             "57P01",  // admin_shutdown (server stopping, or pg_terminate_backend)
             "57P02",  // crash_shutdown
             "57P03",  // cannot_connect_now (server starting up or in recovery)
             "53300",  // too_many_connections
             "55P03":  // lock_not_available
            return true
        default:
            return false
        }
    }

    /// Chooses the code for a server error by its SQLSTATE.
    static func code(forSQLState state: String?, fallback: Code) -> Code {
        switch state {
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "40001", "40P01": return .serialization
        case let s? where s.hasPrefix("08") || s == "57P01" || s == "57P02": return .connectionLost
        default: return fallback
        }
    }

    public var description: String {
        if let sqlState { return "\(code.rawValue) [\(sqlState)]: \(message)" }
        return "\(code.rawValue): \(message)"
    }
}
