import Logging
import PostgresNIO

/// Kiln's connection to PostgreSQL: a pooled client plus the URL it came from
/// (handed on to the processes Kiln starts).
///
/// The client only works while ``run()`` is running: start it in a task group
/// or as a service before the first query.
public struct Database: Sendable {
    public let url: DatabaseURL
    public let client: PostgresClient
    public let logger: Logger

    public init(url: DatabaseURL, logger: Logger) {
        self.url = url
        self.logger = logger
        client = PostgresClient(configuration: url.configuration, backgroundLogger: logger)
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async {
        await client.run()
    }

    /// Runs `body` with the pool running, then shuts the pool down.
    public static func with<T: Sendable>(url: DatabaseURL, logger: Logger, _ body: @Sendable (Database) async throws -> T) async throws -> T {
        let database = Database(url: url, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if
    /// it throws. Throws the body's own error, not a wrapper around it.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }
}

extension String {
    /// This text as a PostgreSQL `text` value can hold it: NUL bytes, which
    /// it refuses (22021), become U+FFFD. For what builds and remote servers
    /// write (an error's last lines, a git server's message), so that a
    /// stray or hostile NUL cannot make an outcome unrecordable.
    public var storableText: String {
        contains("\0") ? replacingOccurrences(of: "\0", with: "\u{FFFD}") : self
    }
}
