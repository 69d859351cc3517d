import Foundation
import KilnProcess
import Logging

/// A private PostgreSQL server kept under a directory of Kiln's, for `kiln up`
/// and for tests: `initdb` on first use, `pg_ctl start`, `pg_ctl stop`.
///
/// It listens on a Unix socket in its own directory only, so it never
/// collides with another server's port. As root, the server runs as the
/// `postgres` system user, since PostgreSQL refuses to run as root.
public struct LocalPostgres: Sendable {
    /// The directory holding `data/`, `run/` (the socket) and `postgres.log`.
    public let directory: URL
    public let binDirectory: String
    public let logger: Logger

    public init(directory: URL, binDirectory: String = LocalPostgres.defaultBinDirectory(), logger: Logger) {
        self.directory = directory
        self.binDirectory = binDirectory
        self.logger = logger
    }

    /// The newest `/usr/lib/postgresql/N/bin`, or `KILN_POSTGRES_BIN` when set.
    public static func defaultBinDirectory() -> String {
        if let configured = ProcessInfo.processInfo.environment["KILN_POSTGRES_BIN"] { return configured }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let newest = versions.compactMap(Int.init).max().map(String.init) ?? "15"
        return "/usr/lib/postgresql/\(newest)/bin"
    }

    var dataDirectory: URL { directory.appendingPathComponent("data") }
    var socketDirectory: URL { directory.appendingPathComponent("run") }
    var logFile: URL { directory.appendingPathComponent("postgres.log") }

    /// The URL of the `kiln` database on this server.
    public var url: String { "postgres://kiln@localhost:5432/kiln?host=\(socketDirectory.path)" }

    /// Creates the cluster if needed and starts the server; returns once it accepts connections.
    public func start() async throws {
        guard FileManager.default.isExecutableFile(atPath: binDirectory + "/initdb") else {
            throw DatabaseError("PostgreSQL is not installed at \(binDirectory): run `apt-get install -y postgresql`, or pass --database-url")
        }
        let owner = try serverUser()
        try FileManager.default.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        if let owner {
            // The server's user must reach the directory and own its parts.
            chmod(directory.path, 0o755)
            guard access(directory.path, X_OK) == 0, canTraverse(directory.deletingLastPathComponent()) else {
                throw DatabaseError("the postgres user cannot reach \(directory.path): give its parent directories o+x, or choose a --home under /tmp or /var/lib")
            }
            for url in [directory, socketDirectory] { chown(url.path, owner.uid, owner.gid) }
        }
        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            logger.info("creating a private PostgreSQL cluster", metadata: ["directory": "\(dataDirectory.path)"])
            try? FileManager.default.removeItem(at: dataDirectory)
            var initdb = Command(binDirectory + "/initdb", ["-D", dataDirectory.path, "-U", "kiln", "--auth=trust", "-E", "UTF8", "--no-sync"])
            initdb.user = owner
            try await initdb.check()
            try? "unix_socket_permissions = 0700\nfsync = on\n".appendingToFile(dataDirectory.appendingPathComponent("postgresql.conf"))
        }
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            if let owner { chown(logFile.path, owner.uid, owner.gid) }
        }
        var start = Command(binDirectory + "/pg_ctl", [
            "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60",
            "-o", "-c listen_addresses='' -k \(socketDirectory.path) -p 5432", "start",
        ])
        start.user = owner
        let outcome = try await start.run()
        guard outcome.succeeded else {
            let log = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
            throw DatabaseError("the private PostgreSQL in \(directory.path) did not start: \(outcome.output)\n\(log)")
        }
        try await createDatabase(owner: owner)
    }

    /// Stops the server (fast shutdown: running queries are cancelled, data is safe).
    public func stop() async throws {
        var stop = Command(binDirectory + "/pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"])
        stop.user = try serverUser()
        let outcome = try await stop.run()
        if !outcome.succeeded, !outcome.output.contains("not running") {
            throw DatabaseError("the private PostgreSQL in \(directory.path) did not stop: \(outcome.output)")
        }
    }

    private func createDatabase(owner: (uid: UInt32, gid: UInt32)?) async throws {
        var psql = Command(binDirectory + "/psql", ["-h", socketDirectory.path, "-U", "kiln", "-d", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname = 'kiln'"])
        psql.user = owner
        if try await psql.check().trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
        psql.arguments = ["-h", socketDirectory.path, "-U", "kiln", "-d", "postgres", "-c", "CREATE DATABASE kiln"]
        try await psql.check()
    }

    /// The `postgres` user when we are root, since the server refuses to run as root.
    private func serverUser() throws -> (uid: UInt32, gid: UInt32)? {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw DatabaseError("running as root needs a `postgres` system user for the private PostgreSQL: run `apt-get install -y postgresql`")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Whether every directory from `/` down to `url` lets others pass through.
    private func canTraverse(_ url: URL) -> Bool {
        var path = url.standardizedFileURL
        while path.path != "/" {
            var info = stat()
            if stat(path.path, &info) != 0 || info.st_mode & 0o001 == 0 { return false }
            path = path.deletingLastPathComponent()
        }
        return true
    }
}

extension String {
    func appendingToFile(_ url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
