import ArgumentParser
import KilnDatabase

/// `kiln migrate`: applies the schema migrations.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply the database schema migrations.")

    @Option(help: "PostgreSQL URL.") var databaseURL: String

    func run() async throws {
        let logger = KilnLogging.bootstrap()
        let url = try DatabaseURL(databaseURL)
        let applied = try await Database.with(url: url, logger: logger) { database in
            try await Migrations.apply(on: database)
        }
        emit(applied.isEmpty ? "schema is up to date (version \(Migrations.all.last?.version ?? 0))" : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}
