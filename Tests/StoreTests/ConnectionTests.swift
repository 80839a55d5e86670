import Foundation
import Testing
import Store

@Suite struct ConnectionTests {
    @Test func bindsNastyStringsAndUnicodeUnchanged() async throws {
        try await TestDatabase.withSchema("bind") { config in
            let c = try PostgresConnection(configuration: config)
            let samples = [
                "", " ", "'; DROP TABLE users; --", "O'Brien \"quoted\"", "back\\slash \\x00 \\N",
                "tab\tnewline\ncarriage\r", "{a,b}", "NULL", "emoji 👩‍👩‍👧 and é (e\u{301})", "日本語のテキスト",
                String(repeating: "x", count: 100_000),
            ]
            for sample in samples {
                let row = try c.execute("SELECT $1::text AS v, length($1::text) AS n", [.text(sample)])[0]
                #expect(try row.string("v") == sample)
                #expect(try row.int("n") == sample.unicodeScalars.count)
            }
        }
    }

    @Test func bindsNullsAndEveryTypedValue() async throws {
        try await TestDatabase.withSchema("types") { config in
            let c = try PostgresConnection(configuration: config)
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_764_517_691.123456)
            let row = try c.execute(
                """
                SELECT $1::text, $2::int8, $3::int8, $4::float8, $5::bool, $6::uuid, $7::jsonb, $8::timestamptz,
                       $9::text[], $10::float8[], $11::float8, $12::float8, $13::int8[], $14::uuid[]
                """,
                [nil, .int(Int64.max), .int(Int64.min), .double(3.141592653589793), .bool(false), .uuid(id),
                 .jsonb(#"{"b": [1, 2], "a": "x\"y"}"#), .timestamp(when),
                 .textArray(["plain", "with,comma", "with \"quote\"", "back\\slash", "", nil, "NULL", "{}"]),
                 .doubleArray([0.1, -2.5e-300, 1e300]), .double(.infinity), .double(.nan),
                 .intArray([1, -2]), .uuidArray([id])])[0]
            #expect(try row.isNull(0))
            #expect(try row.string(0) == nil)
            #expect(try row.int(1) == Int.max)
            #expect(try row.int(2) == Int.min)
            #expect(try row.double(3) == 3.141592653589793)
            #expect(try row.bool(4) == false)
            #expect(try row.uuid(5) == id)
            #expect(try row.json(6) == #"{"a": "x\"y", "b": [1, 2]}"#)
            let back = try #require(try row.date(7))
            #expect(abs(back.timeIntervalSince1970 - when.timeIntervalSince1970) < 1e-6)
            #expect(try row.stringArray(8) == ["plain", "with,comma", "with \"quote\"", "back\\slash", "", nil, "NULL", "{}"])
            #expect(try row.doubleArray(9) == [0.1, -2.5e-300, 1e300])
            #expect(try row.double(10) == .infinity)
            #expect(try row.double(11)?.isNaN == true)
            #expect(try row.stringArray(12) == ["1", "-2"])
            #expect(try row.stringArray(13) == [id.uuidString.lowercased()])
        }
    }

    @Test func readingAValueAsTheWrongTypeThrows() async throws {
        try await TestDatabase.withSchema("decode") { config in
            let c = try PostgresConnection(configuration: config)
            let row = try c.execute("SELECT 'abc'::text AS t")[0]
            #expect(throws: StoreError.self) { try row.int("t") }
            #expect(throws: StoreError.self) { try row.string("missing") }
            #expect(throws: StoreError.self) { try row.uuid(0) }
        }
    }

    @Test func largeByteaRoundTripsBitExact() async throws {
        try await TestDatabase.withSchema("bytea") { config in
            let c = try PostgresConnection(configuration: config)
            var generator = SystemRandomNumberGenerator()
            var blob = [UInt8](repeating: 0, count: 8 << 20)
            for i in stride(from: 0, to: blob.count, by: 8) {
                withUnsafeBytes(of: generator.next() as UInt64) { bytes in
                    for j in 0..<8 { blob[i + j] = bytes[j] }
                }
            }
            blob[0] = 0; blob[1] = 0x5c; blob[2] = UInt8(ascii: "x")   // NUL, backslash, 'x'
            try c.execute("CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL)")
            try c.execute("INSERT INTO blobs VALUES ($1, $2), ($3, $4)", [.int(1), .bytea(blob), .int(2), .bytea([])])
            let rows = try c.execute("SELECT id, data, encode(sha256(data), 'hex') FROM blobs ORDER BY id")
            #expect(try rows[0].bytes(1) == blob)
            #expect(try rows[1].bytes(1) == [])
            #expect(try rows[0].string(2) == (try c.execute("SELECT encode(sha256($1), 'hex')", [.bytea(blob)])[0].string(0)))
        }
    }

    @Test func copyRowsEscapesTabsNewlinesAndBackslashes() async throws {
        try await TestDatabase.withSchema("copy") { config in
            let c = try PostgresConnection(configuration: config)
            try c.execute(#"CREATE TABLE "odd ""name""" (id int, "text value" text, tags text[], data bytea, at timestamptz)"#)
            let values: [String?] = [
                "a\tb", "line1\nline2\r\nline3", "back\\slash\\", "\\N", nil, "", "\\.", "end\\", "ünïcödé ✓",
            ]
            let when = Date(timeIntervalSince1970: 1_700_000_000.25)
            let rows: [[PostgresValue?]] = values.enumerated().map { i, v in
                [.int(i), v.map { .text($0) }, .textArray(["t\tab", "q\"uote", "b\\s", "n\nl"]),
                 .bytea([0, 9, 10, 13, 92, 255]), .timestamp(when)]
            }
            let written = try c.copyRows(into: "odd \"name\"", columns: ["id", "text value", "tags", "data", "at"], rows: rows)
            #expect(written == values.count)
            let back = try c.execute(#"SELECT "text value", tags, data, at FROM "odd ""name""" ORDER BY id"#)
            #expect(back.count == values.count)
            for (i, row) in back.enumerated() {
                #expect(try row.string(0) == values[i])
                #expect(try row.stringArray(1) == ["t\tab", "q\"uote", "b\\s", "n\nl"])
                #expect(try row.bytes(2) == [0, 9, 10, 13, 92, 255])
                #expect(try row.date(3) == when)
            }
        }
    }

    @Test func copyRowsRejectsBadDataAndWritesNothing() async throws {
        try await TestDatabase.withSchema("copybad") { config in
            let c = try PostgresConnection(configuration: config)
            try c.execute("CREATE TABLE t (id int PRIMARY KEY)")
            let error = try #require(throws: StoreError.self) {
                try c.copyRows(into: "t", columns: ["id"], rows: [[.int(1)], [.text("not a number")]])
            }
            #expect(error.code == .copyFailed)
            #expect(error.sqlState == "22P02")
            #expect(try c.execute("SELECT count(*) FROM t")[0].int(0) == 0)
            // The connection stays usable.
            #expect(try c.copyRows(into: "t", columns: ["id"], rows: [[.int(1)], [.int(2)]]) == 2)
        }
    }

    @Test func transactionRollsBackWhenTheBodyThrows() async throws {
        struct Abort: Error {}
        try await TestDatabase.withSchema("tx") { config in
            let c = try PostgresConnection(configuration: config)
            try c.execute("CREATE TABLE t (id int PRIMARY KEY)")
            #expect(throws: Abort.self) {
                try c.transaction { c in
                    try c.execute("INSERT INTO t VALUES (1)")
                    throw Abort()
                }
            }
            // A server error inside the transaction also rolls everything back.
            let error = try #require(throws: StoreError.self) {
                try c.transaction { c in
                    try c.execute("INSERT INTO t VALUES (2)")
                    try c.execute("INSERT INTO t VALUES (2)")
                }
            }
            #expect(error.code == .uniqueViolation)
            #expect(error.sqlState == "23505")
            #expect(!error.isRetriable)
            #expect(!c.isInTransaction)
            #expect(try c.execute("SELECT count(*) FROM t")[0].int(0) == 0)

            // Nested: the inner failure is undone, the outer work commits.
            try c.transaction { c in
                try c.execute("INSERT INTO t VALUES (10)")
                _ = try? c.transaction { c in
                    try c.execute("INSERT INTO t VALUES (11)")
                    throw Abort()
                }
                try c.execute("INSERT INTO t VALUES (12)")
            }
            let ids = try c.execute("SELECT id FROM t ORDER BY id").map { try $0.int(0)! }
            #expect(ids == [10, 12])

            // An error swallowed inside the body still aborts the transaction: COMMIT must not
            // pretend that the earlier inserts were written.
            let aborted = try #require(throws: StoreError.self) {
                try c.transaction { c in
                    try c.execute("INSERT INTO t VALUES (20)")
                    _ = try? c.execute("INSERT INTO t VALUES (20)")
                }
            }
            #expect(aborted.sqlState == "25P02")
            #expect(try c.execute("SELECT count(*) FROM t WHERE id = 20")[0].int(0) == 0)
        }
    }

    @Test func pipelinedStatementsRunInOrderAndReportTheFirstError() async throws {
        try await TestDatabase.withSchema("pipeline") { config in
            let c = try PostgresConnection(configuration: config)
            try c.execute("CREATE TABLE t (id int PRIMARY KEY, label text)")
            let statements = (0..<1000).map {
                PostgresConnection.Statement("INSERT INTO t VALUES ($1, $2) RETURNING id", [.int($0), .text("row \($0)")])
            }
            let results = try c.transaction { try $0.executePipelined(statements) }
            #expect(results.count == 1000)
            #expect(try results[999][0].int(0) == 999)
            #expect(try c.execute("SELECT count(*) FROM t")[0].int(0) == 1000)

            let failing = [PostgresConnection.Statement("INSERT INTO t VALUES (5000, 'ok')"),
                           PostgresConnection.Statement("INSERT INTO t VALUES (1, 'duplicate')"),
                           PostgresConnection.Statement("INSERT INTO t VALUES (5001, 'skipped')")]
            let error = try #require(throws: StoreError.self) { try c.transaction { try $0.executePipelined(failing) } }
            #expect(error.code == .uniqueViolation)
            #expect(try c.execute("SELECT count(*) FROM t")[0].int(0) == 1000)
            #expect(try c.execute("SELECT 1")[0].int(0) == 1)   // usable after leaving pipeline mode
        }
    }

    @Test func badURLAndUnreachablePortGiveClearErrors() throws {
        let bad = DatabaseConfiguration(url: "postgresql://cdra:s3cret@127.0.0.1:55432/cdra?nonsense_option=1")
        let invalid = try #require(throws: StoreError.self) { try PostgresConnection(configuration: bad) }
        #expect(invalid.code == .invalidConfiguration)
        #expect(!invalid.isRetriable)
        #expect(!invalid.message.contains("s3cret"))

        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let unreachable = DatabaseConfiguration(url: "postgresql://cdra:s3cret@127.0.0.1:1/cdra", connectTimeout: 2)
        let refused = try #require(throws: StoreError.self) { try PostgresConnection(configuration: unreachable) }
        #expect(refused.code == .connectionFailed)
        #expect(refused.isRetriable)
        #expect(refused.message.contains("127.0.0.1:1"))
        #expect(!refused.message.contains("s3cret"))
        #expect(!"\(unreachable)".contains("s3cret"))
    }

    @Test func withoutAURLConnectsWithThePGEnvironmentVariables() async throws {
        let url = try #require(URLComponents(string: TestDatabase.url))
        // Process-wide, but harmless: every other test passes a URL, which overrides these.
        setenv("PGHOST", url.host ?? "127.0.0.1", 1)
        setenv("PGPORT", String(url.port ?? 5432), 1)
        setenv("PGUSER", url.user ?? "cdra", 1)
        setenv("PGDATABASE", String(url.path.dropFirst()), 1)
        let schema = TestDatabase.makeSchemaName("pgenv")
        defer { TestDatabase.drop(schema) }
        let c = try PostgresConnection(configuration: DatabaseConfiguration(url: nil, schema: schema))
        let row = try c.execute("SELECT current_user, inet_server_port(), current_database(), current_schema()")[0]
        #expect(try row.string(0) == url.user)
        #expect(try row.int(1) == url.port)
        #expect(try row.string(3) == schema)
    }
}
