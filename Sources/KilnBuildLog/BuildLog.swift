import Foundation
import KilnDatabase
import Logging
import PostgresNIO

/// Build logs, line by line, in PostgreSQL.
///
/// A log has one writer (the worker running the build) and any number of
/// followers (the pusher's `remote:` stream, `kiln logs -f`). Each append
/// sends `NOTIFY kiln_build_log` with the build's seq, so followers wake at
/// once instead of polling.
public struct BuildLog: Sendable {
    /// The channel that carries a build's seq whenever lines are appended.
    public static let channel = "kiln_build_log"

    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Starts (or, on a retry, continues) the log of build `seq`, which keeps
    /// at most `limit` bytes in all (64 MiB unless the worker says).
    public func writer(buildSeq seq: Int64, limit: Int = 64 << 20) async throws -> BuildLogWriter {
        let rows = try await database.client.query("SELECT coalesce(max(line_no), 0) FROM build_log WHERE build_seq = \(seq)", logger: database.logger)
        var last = 0
        for try await value in rows.decode(Int.self) { last = value }
        return BuildLogWriter(database: database, buildSeq: seq, next: last + 1, maximumBytes: limit)
    }

    /// The lines of build `seq` after line `after`, at most `limit`.
    public func lines(buildSeq seq: Int64, after: Int = 0, limit: Int = 5000) async throws -> [LogLine] {
        let rows = try await database.client.query("""
            SELECT line_no, line, at FROM build_log
            WHERE build_seq = \(seq) AND line_no > \(after)
            ORDER BY line_no LIMIT \(limit)
            """, logger: database.logger)
        var lines: [LogLine] = []
        for try await (number, text, at) in rows.decode((Int, String, Date).self) {
            lines.append(LogLine(number: number, text: text, at: at))
        }
        return lines
    }

    /// Deletes every log whose last line is older than `cutoff`, whole: a
    /// log stays while its build may still write to it, and as long as the
    /// retention period after. Returns the lines deleted.
    @discardableResult
    public func prune(quietSince cutoff: Date) async throws -> Int {
        let rows = try await database.client.query("""
            DELETE FROM build_log WHERE at < \(cutoff)
              AND build_seq NOT IN (SELECT build_seq FROM build_log WHERE at >= \(cutoff))
            RETURNING build_seq
            """, logger: database.logger)
        return try await rows.collect().count
    }
}
