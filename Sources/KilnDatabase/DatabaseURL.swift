import Foundation
import PostgresNIO

/// A PostgreSQL connection URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`,
/// or with `?host=/path/to/socket/dir` for a Unix socket, as libpq reads it.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let text: String
    public let configuration: PostgresClient.Configuration

    /// Parses `text`; the error names what is missing.
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw DatabaseError("'\(text)' is not a PostgreSQL URL; expected postgres://USER@HOST:PORT/DATABASE")
        }
        let user = components.user ?? "postgres"
        let database = components.path.split(separator: "/").first.map(String.init) ?? user
        let socketDirectory = components.queryItems?.first(where: { $0.name == "host" })?.value
        var configuration: PostgresClient.Configuration
        if let socketDirectory, socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: components.password, database: database)
        } else {
            guard let host = components.host, !host.isEmpty else {
                throw DatabaseError("'\(text)' names no host; expected postgres://USER@HOST:PORT/DATABASE")
            }
            configuration = .init(host: host, port: components.port ?? 5432, username: user, password: components.password, database: database, tls: .disable)
        }
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 8
        self.text = text
        self.configuration = configuration
    }

    public var description: String { text }
}
