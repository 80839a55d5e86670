import Foundation

/// Where and how to connect to PostgreSQL. Read from the environment in one place
/// (``fromEnvironment(_:)``); the description never shows a password.
public struct DatabaseConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// A `postgresql://` URL or a libpq key/value conninfo string. When nil, libpq reads the usual
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, ... variables.
    /// Default: nil (env `CDRA_DATABASE_URL` in ``fromEnvironment(_:)``).
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

    /// Reads `CDRA_DATABASE_URL`, `CDRA_DATABASE_SCHEMA`, `CDRA_DATABASE_POOL_SIZE`,
    /// `CDRA_DATABASE_SSLMODE` and `CDRA_DATABASE_CONNECT_TIMEOUT`; unset or empty values keep the
    /// defaults. Throws `.invalidConfiguration` for a value that cannot be used.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        applicationName: String = "cdra"
    ) throws -> DatabaseConfiguration {
        func value(_ key: String) -> String? {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func positiveInt(_ key: String) throws -> Int? {
            guard let text = value(key) else { return nil }
            guard let n = Int(text), n > 0 else {
                throw StoreError(.invalidConfiguration, "\(key) must be a positive integer, got '\(text.prefix(20))'")
            }
            return n
        }
        var config = DatabaseConfiguration(applicationName: applicationName)
        config.url = value("CDRA_DATABASE_URL")
        config.sslMode = value("CDRA_DATABASE_SSLMODE")
        if let schema = value("CDRA_DATABASE_SCHEMA") {
            guard isValidSchemaName(schema) else {
                throw StoreError(.invalidConfiguration, "CDRA_DATABASE_SCHEMA '\(schema.prefix(80))' is not a valid schema name")
            }
            config.schema = schema
        }
        if let n = try positiveInt("CDRA_DATABASE_POOL_SIZE") { config.poolSize = n }
        if let n = try positiveInt("CDRA_DATABASE_CONNECT_TIMEOUT") { config.connectTimeout = n }
        return config
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

    /// Removes passwords from a URL (`user:secret@host`, `?password=secret`) or a key/value
    /// conninfo string (`password=secret`, `password='se cret'`).
    public static func redact(_ text: String) -> String {
        var result = text
        // URL form: scheme://user:password@host...
        if let schemeEnd = result.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let rest = result[authorityStart...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"),
               let colon = rest[..<at].firstIndex(of: ":") {
                result.replaceSubrange(result.index(after: colon)..<at, with: "***")
            }
        }
        // password=... as a URL query parameter or a conninfo keyword.
        var output = ""
        var index = result.startIndex
        while let match = result.range(of: "password", options: [.caseInsensitive], range: index..<result.endIndex) {
            output += result[index..<match.upperBound]
            var cursor = match.upperBound
            while cursor < result.endIndex, result[cursor] == " " { output.append(" "); cursor = result.index(after: cursor) }
            guard cursor < result.endIndex, result[cursor] == "=" else { index = cursor; continue }
            output += "="
            cursor = result.index(after: cursor)
            while cursor < result.endIndex, result[cursor] == " " { output.append(" "); cursor = result.index(after: cursor) }
            if cursor < result.endIndex, result[cursor] == "'" {
                // Quoted conninfo value: skip to the closing quote, honouring backslash escapes.
                cursor = result.index(after: cursor)
                while cursor < result.endIndex, result[cursor] != "'" {
                    if result[cursor] == "\\" { cursor = result.index(after: cursor); if cursor == result.endIndex { break } }
                    cursor = result.index(after: cursor)
                }
                if cursor < result.endIndex { cursor = result.index(after: cursor) }
            } else {
                while cursor < result.endIndex, !" &".contains(result[cursor]) { cursor = result.index(after: cursor) }
            }
            output += "***"
            index = cursor
        }
        output += result[index...]
        return output
    }
}
