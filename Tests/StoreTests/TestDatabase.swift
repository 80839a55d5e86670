import Foundation
import ServiceRuntime
import Store

/// A throwaway schema on the local PostgreSQL for one test: random name, dropped at the end.
enum TestDatabase {
    /// The local stack's database, resolved as a service would (the one reader of the environment).
    static var url: String { (try? ServiceOptions.parse([]))?.databaseURL() ?? "postgresql://cdra@127.0.0.1:55432/cdra" }

    static func configuration(schema: String, poolSize: Int = 2) -> DatabaseConfiguration {
        DatabaseConfiguration(url: url, applicationName: "cdra-store-tests", schema: schema, poolSize: poolSize)
    }

    static func makeSchemaName(_ label: String) -> String {
        "test_store_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Runs `body` with a configuration whose schema exists only for this call.
    static func withSchema<T>(_ label: String, poolSize: Int = 2,
                              _ body: (DatabaseConfiguration) async throws -> T) async throws -> T {
        let schema = makeSchemaName(label)
        let config = configuration(schema: schema, poolSize: poolSize)
        defer { drop(schema) }
        return try await body(config)
    }

    /// Like ``withSchema(_:poolSize:_:)`` with the migrations applied and one open connection.
    static func withMigratedConnection<T>(_ label: String,
                                          _ body: (PostgresConnection) throws -> T) async throws -> T {
        try await withSchema(label) { config in
            let connection = try PostgresConnection(configuration: config)
            try Migrator.migrate(connection)
            return try body(connection)
        }
    }

    static func drop(_ schema: String) {
        guard let admin = try? PostgresConnection(configuration: configuration(schema: "public")) else { return }
        _ = try? admin.execute("DROP SCHEMA IF EXISTS \(PostgresConnection.quoteIdentifier(schema)) CASCADE")
    }
}
