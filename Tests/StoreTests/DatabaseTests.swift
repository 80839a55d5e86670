import Foundation
import Testing
import ServiceRuntime
import Store
import Resilience

@Suite struct DatabaseTests {
    @Test func poolRunsConcurrentCallsOnAtMostPoolSizeConnections() async throws {
        try await TestDatabase.withSchema("pool", poolSize: 2) { config in
            let db = Database(configuration: config)
            defer { db.shutdown() }
            let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await db.withConnection { c in
                            _ = try c.execute("SELECT pg_sleep(0.01)")
                            return c.backendPID
                        }
                    }
                }
                var pids = Set<Int32>()
                for try await pid in group { pids.insert(pid) }
                return pids
            }
            #expect(pids.count >= 1 && pids.count <= 2)
            // search_path is the test's schema on every pooled connection.
            let schema = try await db.withConnection { try $0.execute("SELECT current_schema()")[0].string(0) }
            #expect(schema == config.schema)
        }
    }

    @Test func asyncTransactionRollsBackOnError() async throws {
        struct Abort: Error {}
        try await TestDatabase.withSchema("asynctx") { config in
            let db = Database(configuration: config)
            defer { db.shutdown() }
            try await db.withConnection { try $0.execute("CREATE TABLE t (id int)") }
            await #expect(throws: Abort.self) {
                try await db.transaction { c in
                    try c.execute("INSERT INTO t VALUES (1)")
                    throw Abort()
                }
            }
            // A body that leaves a transaction open gets it rolled back, not leaked to the next user.
            try await db.withConnection { c in
                try c.execute("BEGIN")
                try c.execute("INSERT INTO t VALUES (2)")
            }
            try await db.transaction { try $0.execute("INSERT INTO t VALUES (3)") }
            let ids = try await db.withConnection { c in try c.execute("SELECT id FROM t").map { try $0.int(0)! } }
            #expect(ids == [3])
        }
    }

    @Test func terminatedBackendGivesRetriableErrorThenReconnects() async throws {
        try await TestDatabase.withSchema("lost", poolSize: 1) { config in
            let db = Database(configuration: config)
            defer { db.shutdown() }
            let firstPID = try await db.withConnection { $0.backendPID }
            let admin = try PostgresConnection(configuration: config)
            let terminated = try admin.execute("SELECT pg_terminate_backend($1)", [.int(firstPID)])
            #expect(try terminated[0].bool(0) == true)
            // Wait until the server has really ended that backend.
            for _ in 0..<100 {
                let alive = try admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [.int(firstPID)])
                if try alive[0].int(0) == 0 { break }
                try await Task.sleep(nanoseconds: 20_000_000)
            }

            let error = await #expect(throws: StoreError.self) {
                try await db.withConnection { try $0.execute("SELECT 1") }
            }
            #expect(error?.isRetriable == true)
            #expect(error?.code == .connectionLost)

            let (one, secondPID) = try await db.withConnection { c -> (Int?, Int32) in
                (try c.execute("SELECT 1")[0].int(0), c.backendPID)
            }
            #expect(one == 1)
            #expect(secondPID != firstPID)
        }
    }

    @Test func shutdownPoolRejectsNewCalls() async throws {
        try await TestDatabase.withSchema("shutdown") { config in
            let db = Database(configuration: config)
            _ = try await db.withConnection { try $0.execute("SELECT 1") }
            db.shutdown()
            let error = await #expect(throws: StoreError.self) { try await db.withConnection { _ in 1 } }
            #expect(error?.code == .shutDown)
            #expect(error?.isRetriable == false)
        }
    }

    @Test func configurationFromEnvironmentAndRedaction() throws {
        let config = try ServiceOptions.parse([], environment: [
            "CDRA_DATABASE_URL": "postgresql://svc:hunter2@db.example:5432/cdra?sslmode=require",
            "CDRA_DATABASE_SCHEMA": "council", "CDRA_DATABASE_POOL_SIZE": "4",
        ]).databaseConfiguration(applicationName: "cdra")
        #expect(config.url == "postgresql://svc:hunter2@db.example:5432/cdra?sslmode=require")
        #expect(config.schema == "council")
        #expect(config.poolSize == 4)
        #expect(config.redactedURL == "postgresql://svc:***@db.example:5432/cdra?sslmode=require")
        #expect(!config.description.contains("hunter2"))
        #expect(throws: (any Error).self) {
            try ServiceOptions.parse([], environment: ["CDRA_DATABASE_POOL_SIZE": "zero"])
        }
        #expect(DatabaseConfiguration.redact("host=x password='a b\\'c' user=u") == "host=x password=*** user=u")
        #expect(DatabaseConfiguration.redact("postgresql://u@h/db?password=p&sslmode=disable")
                == "postgresql://u@h/db?password=***&sslmode=disable")
        #expect(DatabaseConfiguration.redact("postgresql://u@h:5/db") == "postgresql://u@h:5/db")
    }

    @Test func timestampTextFormsParse() async throws {
        try await TestDatabase.withSchema("time") { config in
            let c = try PostgresConnection(configuration: config)
            // The parser reads any text column, so its edge cases can be fed in directly.
            func parse(_ text: String) throws -> Date? {
                try? c.execute("SELECT $1::text", [.text(text)])[0].date(0)
            }
            #expect(try parse("1970-01-01 00:00:00+00") == Date(timeIntervalSince1970: 0))
            #expect(try parse("2026-11-30 15:48:11.5+00")?.timeIntervalSince1970 == 1_796_053_691.5)
            #expect(try parse("2026-11-30 17:48:11.5+02")?.timeIntervalSince1970 == 1_796_053_691.5)
            #expect(try parse("2026-11-30T15:18:11.5-00:30")?.timeIntervalSince1970 == 1_796_053_691.5)
            #expect(try parse("1969-12-31 23:59:59+00")?.timeIntervalSince1970 == -1)
            #expect(try parse("not a date") == nil)
            // What the server writes for a bound timestamp, and for a leap day.
            let d = Date(timeIntervalSince1970: 951_782_400.000001)   // 2000-02-29
            let row = try c.execute("SELECT $1::timestamptz::text, $1::timestamptz", [.timestamp(d)])[0]
            #expect(try row.string(0) == "2000-02-29 00:00:00.000001+00")
            #expect(try row.date(1).map { abs($0.timeIntervalSince(d)) < 1e-6 } == true)
        }
    }

    @Test func retriableSQLStates() {
        for state in ["40001", "40P01", "57P01", "57P03", "08006"] {
            #expect(StoreError(.queryFailed, "x", sqlState: state).isRetriable, "\(state)")
        }
        for state in ["23505", "22P02", "42P01"] {
            #expect(!StoreError(.queryFailed, "x", sqlState: state).isRetriable, "\(state)")
        }
    }
}
