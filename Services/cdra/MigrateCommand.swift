import ArgumentParser
import ServiceRuntime
import Store

/// Applies the SQL migrations in `Schemas/sql` (idempotent).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database migrations (safe to repeat).")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        ServiceLogging.bootstrap(service: "cdra", options: options)
        let database = Database(configuration: options.databaseConfiguration(applicationName: "cdra-migrate"))
        defer { database.shutdown() }
        let applied = try await Migrator.migrate(database)
        print("migrations: \(applied.isEmpty ? "up to date" : "applied \(applied.joined(separator: ", "))")")
    }
}
