import KilnDatabase
import PostgresNIO

/// Appends lines to one build's log. An actor: a build's phases may log from
/// several tasks (a buildpack's output, the worker's own messages).
public actor BuildLogWriter {
    let database: Database
    let buildSeq: Int64
    var next: Int

    init(database: Database, buildSeq: Int64, next: Int) {
        self.database = database
        self.buildSeq = buildSeq
        self.next = next
    }

    /// Appends one line and wakes the followers.
    public func append(_ text: String) async throws {
        let number = next
        next += 1
        try await database.client.query("""
            WITH line AS (INSERT INTO build_log (build_seq, line_no, line) VALUES (\(buildSeq), \(number), \(text.replacingOccurrences(of: "\0", with: ""))))
            SELECT pg_notify(\(BuildLog.channel), \(String(buildSeq)))
            """, logger: database.logger)
    }
}
