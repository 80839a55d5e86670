import CLibPQ
import Foundation

/// One libpq connection. Owns the `PGconn` and closes it on deinit.
///
/// Blocking: every call waits for the server. Use it from one thread at a time; async code goes
/// through ``Database``, which runs these calls on its own threads, off the cooperative pool.
/// Every statement binds its values as parameters (`$1`, `$2`, ...).
public final class PostgresConnection {
    let handle: OpaquePointer   // PGconn *, owned: PQfinish in deinit (also after a failed connect)
    /// The configuration this connection was opened with.
    public let configuration: DatabaseConfiguration

    // MARK: - Connecting

    /// Opens a connection, then sets the session up for the text formats this module reads (UTC,
    /// ISO dates, hex bytea, shortest exact floats, UTF-8) and the configured schema as
    /// `search_path` (creating the schema if missing). Throws `.invalidConfiguration` for a malformed URL and
    /// a retriable `.connectionFailed` when the server cannot be reached.
    public init(configuration: DatabaseConfiguration) throws {
        self.configuration = configuration
        if let url = configuration.url {
            // Validate first: PQconnectdbParams reports a malformed URL as a connection failure.
            var parseError: UnsafeMutablePointer<CChar>?
            if let options = PQconninfoParse(url, &parseError) {
                PQconninfoFree(options)
            } else {
                let detail = parseError.map { String(cString: $0) } ?? "cannot parse"
                if let parseError { PQfreemem(parseError) }
                throw StoreError(.invalidConfiguration,
                                 "database URL \(DatabaseConfiguration.redact(url)) is invalid: \(Self.trim(detail))")
            }
        }
        // Later keywords override earlier ones, including those inside the URL: the URL may set
        // application_name and connect_timeout, while an explicit sslmode overrides the URL's.
        var pairs: [(String, String)] = [
            ("application_name", configuration.applicationName),
            ("connect_timeout", String(configuration.connectTimeout)),
        ]
        if let url = configuration.url { pairs.append(("dbname", url)) }
        if let sslMode = configuration.sslMode { pairs.append(("sslmode", sslMode)) }
        // Strings cross the boundary as UTF-8, whatever PGCLIENTENCODING or the URL says.
        pairs.append(("client_encoding", "UTF8"))
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer { (keywords + values).forEach { free($0) } }
        var keywordPointers = keywords.map { UnsafePointer<CChar>($0) } + [nil]
        var valuePointers = values.map { UnsafePointer<CChar>($0) } + [nil]
        guard let connection = PQconnectdbParams(&keywordPointers, &valuePointers, 1) else {
            throw StoreError(.connectionFailed, "libpq could not allocate a connection")
        }
        handle = connection
        guard PQstatus(connection) == CONNECTION_OK else {
            let where_ = configuration.redactedURL ?? "the server named by the PG* environment"
            throw StoreError(.connectionFailed,
                             "cannot connect to \(where_): \(Self.trim(String(cString: PQerrorMessage(connection))))")
        }
        // libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        try setUpSession()
    }

    deinit { PQfinish(handle) }

    private func setUpSession() throws {
        let schema = configuration.schema
        let exists = try execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", [.text(schema)])
        if exists.isEmpty {
            do {
                // DDL cannot take parameters; the name is configuration and is quoted.
                _ = try execute("CREATE SCHEMA IF NOT EXISTS \(Self.quoteIdentifier(schema))")
            } catch let error as StoreError where error.code == .uniqueViolation || error.sqlState == "42P06" {
                // Another connection created it at the same moment.
            }
        }
        _ = try execute(
            """
            SELECT set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, MDY', false),
                   set_config('bytea_output', 'hex', false), set_config('extra_float_digits', '1', false),
                   set_config('search_path', $1, false), set_config('statement_timeout', $2, false)
            """,
            [.text(Self.quoteIdentifier(schema)), .text(String(configuration.statementTimeoutMilliseconds))])
    }

    // MARK: - State

    /// The server process serving this connection (for `pg_terminate_backend`, logs).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// False once the connection has broken; a broken connection is discarded, not reused.
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// True inside BEGIN ... COMMIT (including a failed transaction awaiting ROLLBACK).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    var transactionIdle: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }

    // MARK: - Statements

    /// Runs one statement with its values bound as parameters (`$1`, `$2`, ...) and returns its
    /// rows. A nil parameter is SQL NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue?] = []) throws -> PostgresResult {
        // Text form for every value except bytea, which goes in binary to avoid hex doubling.
        let (types, formats, lengths, buffers) = Self.encode(parameters)
        for (i, buffer) in buffers.enumerated() where (buffer?.count ?? 0) > Int(Int32.max) {
            throw StoreError(.queryFailed, "parameter $\(i + 1) is larger than 2 GiB")
        }
        let result: OpaquePointer? = Self.withPointers(buffers) { values in
            PQexecParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs several semicolon-separated statements with the simple query protocol. Only for SQL
    /// that is code (migration files): it cannot take parameters.
    func executeScript(_ sql: String) throws {
        var result = PQexec(handle, sql)
        while let current = result {
            _ = try check(current, sql: sql)
            result = PQgetResult(handle)
        }
        if !isHealthy { throw lostError() }
    }

    /// Turns a libpq result into a ``PostgresResult`` or a ``StoreError``.
    func check(_ result: OpaquePointer?, sql: String, fallback: StoreError.Code = .queryFailed) throws -> PostgresResult {
        guard let result else {
            if !isHealthy { throw lostError() }
            throw StoreError(fallback, Self.trim(String(cString: PQerrorMessage(handle))))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_PIPELINE_SYNC:
            return PostgresResult(taking: result)
        default:
            let error = makeError(result, sql: sql, fallback: fallback)
            PQclear(result)
            throw error
        }
    }

    func makeError(_ result: OpaquePointer, sql: String, fallback: StoreError.Code) -> StoreError {
        func field(_ code: UInt8) -> String? {
            guard let p = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: p)
        }
        let state = field(UInt8(ascii: "C"))               // PG_DIAG_SQLSTATE
        var message = field(UInt8(ascii: "M"))              // PG_DIAG_MESSAGE_PRIMARY
            ?? Self.trim(String(cString: PQresultErrorMessage(result)))
        if message.isEmpty { message = Self.trim(String(cString: PQerrorMessage(handle))) }
        // PG_DIAG_MESSAGE_DETAIL can quote a whole failing row: keep enough to diagnose, not the row.
        if let detail = field(UInt8(ascii: "D")) {
            message += " (\(detail.count > 300 ? detail.prefix(300) + "…" : Substring(detail)))"
        }
        let statement = sql.split(separator: "\n").first.map { String($0.prefix(120)) } ?? ""
        message += " — in: \(statement)"
        var code = StoreError.code(forSQLState: state, fallback: fallback)
        if !isHealthy { code = .connectionLost }
        return StoreError(code, message, sqlState: state)
    }

    func lostError() -> StoreError {
        StoreError(.connectionLost, "connection to the server was lost: \(Self.trim(String(cString: PQerrorMessage(handle))))")
    }

    // MARK: - Transactions

    /// Runs `body` inside a transaction: COMMIT when it returns, ROLLBACK when it throws (the
    /// error is rethrown). Nested calls use a savepoint, so an inner failure undoes only the
    /// inner work.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let nested = isInTransaction
        savepointDepth += nested ? 1 : 0
        let savepoint = "cdra_savepoint_\(savepointDepth)"
        defer { if nested { savepointDepth -= 1 } }
        try execute(nested ? "SAVEPOINT \(savepoint)" : "BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            // A broken connection has no transaction left to roll back.
            if isHealthy {
                _ = try? execute(nested ? "ROLLBACK TO SAVEPOINT \(savepoint)" : "ROLLBACK")
                if nested { _ = try? execute("RELEASE SAVEPOINT \(savepoint)") }
            }
            throw error
        }
        let end = try execute(nested ? "RELEASE SAVEPOINT \(savepoint)" : "COMMIT")
        // COMMIT of a transaction that an earlier (swallowed) error aborted succeeds with the tag
        // ROLLBACK: nothing was written, so the caller must hear about it.
        if !nested, end.commandTag == "ROLLBACK" {
            throw StoreError(.queryFailed, "the transaction was aborted by an earlier error and rolled back, not committed",
                             sqlState: "25P02")
        }
        return value
    }
    private var savepointDepth = 0

    /// Session-lifetime objects (temporary tables, ...) already created on this connection.
    var sessionObjects: Set<String> = []

    // MARK: - Helpers

    /// Quotes an identifier (table, column, schema name) for SQL text: `"name"` with inner
    /// quotes doubled. Identifiers are code constants or configuration, never event data.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func trim(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Calls `body` with C pointers to each buffer (nil for NULL), valid for the call only.
    static func withPointers<R>(_ buffers: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(buffers.count)
        func recurse(_ index: Int) -> R {
            if index == buffers.count { return body(pointers) }
            guard let buffer = buffers[index] else {
                pointers.append(nil)
                return recurse(index + 1)
            }
            return buffer.withUnsafeBufferPointer { raw in
                // An empty binary value still needs a non-null pointer (nil means NULL).
                let base = raw.baseAddress ?? UnsafePointer<UInt8>(bitPattern: 1)!
                pointers.append(UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self))
                return recurse(index + 1)
            }
        }
        return recurse(0)
    }
}
