import Foundation
import Logging
import Settings

/// Applies the ordered SQL migrations of `Schemas/sql/` (`0001_core.sql`, `0002_...`) to the
/// configured schema: each file once, in version order, in its own transaction, recorded in
/// `schema_migrations` with its SHA-256. A file changed after it was applied is an error.
/// Concurrent start-up of several services is safe: the run holds an advisory lock per schema.
///
/// Migration files must not name a schema (they run with `search_path` set) and must not use
/// statements that cannot run inside a transaction (`CREATE INDEX CONCURRENTLY`).
public struct Migrator {
    /// One migration file.
    struct Migration {
        var version: Int
        var name: String
        var sql: String
    }

    /// Env `CDRA_MIGRATIONS_DIR` when set (container images), else `<package root>/Schemas/sql`.
    public static var defaultDirectory: URL {
        if let dir = EnvironmentReader().string("CDRA_MIGRATIONS_DIR") {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        // This file is <root>/Shared/Store/Migrator.swift.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/sql", isDirectory: true)
    }

    /// Migrates the database's schema on one pooled connection and returns the file names it
    /// applied (empty when everything was already applied).
    @discardableResult
    public static func migrate(_ database: Database, directory: URL = Migrator.defaultDirectory,
                               logger: Logger = Logger(label: "cdra.store.migrator")) async throws -> [String] {
        let migrations = try load(directory)
        return try await database.withConnection { connection in
            try apply(migrations, on: connection, logger: logger)
        }
    }

    /// Migrates the connection's schema; see ``migrate(_:directory:logger:)``.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, directory: URL = Migrator.defaultDirectory,
                               logger: Logger = Logger(label: "cdra.store.migrator")) throws -> [String] {
        try apply(try load(directory), on: connection, logger: logger)
    }

    // MARK: - Internals

    static func load(_ directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw StoreError(.migrationFailed, "cannot read migrations directory \(directory.path): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            // NNNN_words.sql
            let stem = name.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0,
                  stem[..<underscore].count == 4, stem.index(after: underscore) < stem.endIndex else {
                throw StoreError(.migrationFailed, "migration file '\(name)' is not named NNNN_name.sql")
            }
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path),
                  let sql = String(data: data, encoding: .utf8) else {
                throw StoreError(.migrationFailed, "cannot read migration \(url.path) as UTF-8")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw StoreError(.migrationFailed, "migrations '\(a.name)' and '\(b.name)' share version \(a.version)")
        }
        guard !migrations.isEmpty else {
            throw StoreError(.migrationFailed, "no migrations (*.sql) in \(directory.path)")
        }
        return migrations
    }

    static func apply(_ migrations: [Migration], on connection: PostgresConnection, logger: Logger) throws -> [String] {
        // Session-level lock keyed by the schema: services migrating other schemas do not wait.
        let lockKey = "SELECT hashtext('cdra.schema_migrations'), hashtext(current_schema())"
        try connection.execute("SELECT pg_advisory_lock(k.a, k.b) FROM (\(lockKey)) AS k(a, b)")
        defer {
            if connection.isHealthy {
                _ = try? connection.execute("SELECT pg_advisory_unlock(k.a, k.b) FROM (\(lockKey)) AS k(a, b)")
            }
        }
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.execute("SELECT version, name, checksum FROM schema_migrations") {
            applied[try row.int(0)!] = (try row.string(1)!, try row.string(2)!)
        }
        var appliedNow: [String] = []
        for migration in migrations {
            let checksum = try connection.execute(
                "SELECT encode(sha256($1), 'hex')", [.bytea(Array(migration.sql.utf8))])[0].string(0)!
            if let existing = applied[migration.version] {
                guard existing.checksum == checksum else {
                    throw StoreError(.migrationFailed,
                        "migration \(migration.name) was changed after it was applied as '\(existing.name)' "
                        + "(checksum \(existing.checksum.prefix(12))… in the database, \(checksum.prefix(12))… on disk); "
                        + "add a new migration instead of editing an applied one")
                }
                continue
            }
            do {
                try connection.transaction { connection in
                    try connection.executeScript(migration.sql)
                    try connection.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                           [.int(migration.version), .text(migration.name), .text(checksum)])
                }
            } catch let error as StoreError where !error.isRetriable {
                throw StoreError(.migrationFailed, "migration \(migration.name) failed: \(error.message)", sqlState: error.sqlState)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)", "schema": "\(connection.configuration.schema)"])
            appliedNow.append(migration.name)
        }
        let known = Set(migrations.map(\.version))
        for (version, entry) in applied where !known.contains(version) {
            logger.warning("database has a migration this build does not know", metadata: ["migration": "\(entry.name)"])
        }
        return appliedNow
    }
}
