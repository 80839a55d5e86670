import Foundation
import Testing
import Store

@Suite struct MigrationTests {
    static func tableSnapshot(_ c: PostgresConnection) throws -> [String] {
        try c.execute("""
            SELECT table_name || ':' || table_type FROM information_schema.tables
            WHERE table_schema = current_schema() ORDER BY 1
            """).map { try $0.string(0)! }
    }

    @Test func migratingTwiceChangesNothing() async throws {
        try await TestDatabase.withSchema("migrate") { config in
            let db = Database(configuration: config)
            defer { db.shutdown() }
            let first = try await Migrator.migrate(db)
            let files = try FileManager.default.contentsOfDirectory(atPath: Migrator.defaultDirectory.path)
                .filter { $0.hasSuffix(".sql") }.sorted()
            #expect(first == files)
            let before = try await db.withConnection { c in
                (try Self.tableSnapshot(c), try c.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1")
                    .map { "\(try $0.int(0)!) \(try $0.string(1)!) \(try $0.string(2)!)" })
            }
            let second = try await Migrator.migrate(db)
            #expect(second.isEmpty)
            let after = try await db.withConnection { c in
                (try Self.tableSnapshot(c), try c.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1")
                    .map { "\(try $0.int(0)!) \(try $0.string(1)!) \(try $0.string(2)!)" })
            }
            #expect(before.0 == after.0)
            #expect(before.1 == after.1)
            for table in ["profiles", "queries", "annotations", "persona_critiques", "dataset_splits", "responses",
                          "critiques", "checkpoints", "training_metrics", "evaluations", "processed_events",
                          "dead_letters", "v_table_counts", "v_annotation_overview", "v_latest_evaluations"] {
                #expect(after.0.contains { $0.hasPrefix(table + ":") }, "\(table) missing")
            }
        }
    }

    @Test func changedAppliedMigrationIsRejected() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdra-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "CREATE TABLE a (id int);".write(to: dir.appendingPathComponent("0001_a.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE b (id int);".write(to: dir.appendingPathComponent("0002_b.sql"), atomically: true, encoding: .utf8)
        try await TestDatabase.withSchema("changed") { config in
            let c = try PostgresConnection(configuration: config)
            #expect(try Migrator.migrate(c, directory: dir) == ["0001_a.sql", "0002_b.sql"])
            try "CREATE TABLE b (id bigint);".write(to: dir.appendingPathComponent("0002_b.sql"), atomically: true, encoding: .utf8)
            let error = try #require(throws: StoreError.self) { try Migrator.migrate(c, directory: dir) }
            #expect(error.code == .migrationFailed)
            #expect(error.message.contains("0002_b.sql"))

            // A failing new migration is rolled back whole and not recorded.
            try "CREATE TABLE b (id int);".write(to: dir.appendingPathComponent("0002_b.sql"), atomically: true, encoding: .utf8)
            try "CREATE TABLE c (id int); SELECT no_such_function();".write(
                to: dir.appendingPathComponent("0003_c.sql"), atomically: true, encoding: .utf8)
            let failed = try #require(throws: StoreError.self) { try Migrator.migrate(c, directory: dir) }
            #expect(failed.code == .migrationFailed)
            #expect(try c.execute("SELECT to_regclass('c') IS NULL")[0].bool(0) == true)
            #expect(try c.execute("SELECT max(version) FROM schema_migrations")[0].int(0) == 2)
        }
    }

    @Test func badlyNamedMigrationIsRejected() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdra-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "SELECT 1;".write(to: dir.appendingPathComponent("1_first.sql"), atomically: true, encoding: .utf8)
        try await TestDatabase.withSchema("badname") { config in
            let c = try PostgresConnection(configuration: config)
            let error = try #require(throws: StoreError.self) { try Migrator.migrate(c, directory: dir) }
            #expect(error.code == .migrationFailed)
            #expect(error.message.contains("1_first.sql"))
        }
    }

    @Test func concurrentMigrationsApplyEachFileOnce() async throws {
        try await TestDatabase.withSchema("concurrent") { config in
            let a = Database(configuration: config), b = Database(configuration: config)
            defer { a.shutdown(); b.shutdown() }
            async let first = Migrator.migrate(a)
            async let second = Migrator.migrate(b)
            let (x, y) = try await (first, second)
            let files = try FileManager.default.contentsOfDirectory(atPath: Migrator.defaultDirectory.path)
                .filter { $0.hasSuffix(".sql") }
            #expect((x + y).sorted() == files.sorted())
            #expect(x.isEmpty || y.isEmpty)
            let recorded = try await a.withConnection { try $0.execute("SELECT count(*) FROM schema_migrations")[0].int(0) }
            #expect(recorded == files.count)
        }
    }
}
