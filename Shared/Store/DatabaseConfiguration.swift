import Foundation
import Settings

/// Where and how to connect to PostgreSQL. Services get it from `ServiceOptions`, which reads the
/// environment; the description never shows a password.
public struct DatabaseConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// A `postgresql://` URL or a libpq key/value conninfo string. When nil, libpq reads the usual
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, ... variables.
    /// Default: nil
    public var url: String?

    /// Reported to the server (visible in `pg_stat_activity`).
    /// Default: "cdra".
    public var applicationName: String

    /// Seconds to wait for a connection to open before failing with `.connectionFailed`.
    /// Default: 5.
    public var connectTimeout: Int {
        didSet { precondition(connectTimeout > 0, "connectTimeout must be positive") }
    }

    /// Overrides the URL's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    /// Default: nil (the URL's setting or libpq's default, `prefer`).
    public var sslMode: String?

    /// The schema every connection works in: created if missing and set as `search_path`, so
    /// tests and services can each have their own. Default: "public".
    public var schema: String {
        didSet { precondition(Self.isValidSchemaName(schema), "invalid schema name") }
    }

    /// Connections a ``Database`` keeps open at most.
    /// Default: 2 (the machine has two cores; PostgreSQL gains little from more).
    public var poolSize: Int {
        didSet { precondition(poolSize > 0, "poolSize must be positive") }
    }

    /// Server-side limit for one statement, in milliseconds; 0 means none.
    /// Default: 0.
    public var statementTimeoutMilliseconds: Int {
        didSet { precondition(statementTimeoutMilliseconds >= 0, "statementTimeoutMilliseconds must be >= 0") }
    }

    public init(
        url: String? = nil, applicationName: String = "cdra", connectTimeout: Int = 5,
        sslMode: String? = nil, schema: String = "public", poolSize: Int = 2,
        statementTimeoutMilliseconds: Int = 0
    ) {
        precondition(connectTimeout > 0, "connectTimeout must be positive")
        precondition(Self.isValidSchemaName(schema), "invalid schema name")
        precondition(poolSize > 0, "poolSize must be positive")
        precondition(statementTimeoutMilliseconds >= 0, "statementTimeoutMilliseconds must be >= 0")
        self.url = url
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.sslMode = sslMode
        self.schema = schema
        self.poolSize = poolSize
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    /// Schema names are configuration, not data, but still quoted when used; this only rejects
    /// names PostgreSQL would truncate or that are empty or contain NUL.
    public static func isValidSchemaName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && !name.utf8.contains(0)
    }

    /// The URL with any password replaced by `***`, safe to log.
    public var redactedURL: String? { url.map(Self.redact) }

    public var description: String {
        "DatabaseConfiguration(url: \(redactedURL ?? "<PG* environment>"), schema: \(schema), "
            + "poolSize: \(poolSize), applicationName: \(applicationName), connectTimeout: \(connectTimeout)s"
            + (sslMode.map { ", sslMode: \($0)" } ?? "") + ")"
    }

    /// Hides the password of a URL (`user:secret@host`, `?password=secret`) or a key/value
    /// conninfo string (`password=secret`, `password='se cret'`) behind the redaction marker. Text
    /// that is neither form is replaced whole: it might be a secret.
    public static func redact(_ text: String) -> String {
        guard var url = DatabaseURL(text) else { return Redaction.marker }
        url.redactPassword()
        return url.rendered()
    }
}
