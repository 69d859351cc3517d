import KilnDatabase
import Logging
import PostgresNIO

/// Appends lines to one build's log. An actor: a build's phases may log from
/// several tasks (a buildpack's output, the worker's own messages).
///
/// Lines are written in batches (one INSERT for whatever accumulated while
/// the previous one ran), and a database that is briefly away does not fail
/// the build: lines wait in memory and are written, in order, once it is
/// back. ``flush()`` waits until every line is stored.
public actor BuildLogWriter {
    /// Lines kept in memory while the database is away; past this, the
    /// oldest unsent lines are dropped and the log says how many.
    static let maximumPending = 100_000

    let database: Database
    let buildSeq: Int64
    var next: Int
    var pending: [(number: Int, text: String)] = []
    var flushing = false
    var dropped = 0
    var bytes = 0
    /// Whether the log passed ``maximumBytes``; later lines are dropped.
    public private(set) var overBudget = false

    /// Most bytes this build's log keeps, across all its phases and buildpacks.
    public nonisolated let maximumBytes: Int

    init(database: Database, buildSeq: Int64, next: Int, maximumBytes: Int) {
        self.database = database
        self.buildSeq = buildSeq
        self.next = next
        self.maximumBytes = maximumBytes
    }

    /// Appends one line and wakes the followers. Never fails the build:
    /// a line the database cannot take now is kept for the next write.
    public func append(_ text: String) async {
        guard !overBudget else { return }
        let line = text.storableText
        bytes += line.utf8.count + 1
        if bytes > maximumBytes {
            // One budget for the whole build, whatever its buildpacks print each.
            overBudget = true
            pending.append((next, " !     The build's log passed its limit of \(maximumBytes >> 20) MiB: later lines are not kept"))
        } else {
            pending.append((next, line))
        }
        next += 1
        if pending.count > Self.maximumPending {
            let excess = pending.count - Self.maximumPending
            pending.removeFirst(excess)
            dropped += excess
        }
        await writePending()
    }

    /// Writes every pending line, retrying with back-off for up to `patience`.
    /// Returns whether the log is complete in the database.
    @discardableResult
    public func flush(patience: Duration = .seconds(120)) async -> Bool {
        let deadline = ContinuousClock.now + patience
        var delay = Duration.milliseconds(100)
        while true {
            await writePending()
            if pending.isEmpty && !flushing { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    private func writePending() async {
        // One writer at a time keeps the lines in order; appends made meanwhile join the next batch.
        guard !flushing, !pending.isEmpty else { return }
        flushing = true
        defer { flushing = false }
        while !pending.isEmpty {
            let numbers = pending.map(\.number), texts = pending.map(\.text)
            do {
                // ON CONFLICT: a batch whose commit was not acknowledged may be sent twice.
                let (database, buildSeq) = (database, buildSeq)
                _ = try await database.bounded(.seconds(15)) {
                    try await database.client.query("""
                    WITH lines AS (
                        INSERT INTO build_log (build_seq, line_no, line)
                        SELECT \(buildSeq), n, t FROM unnest(\(numbers)::int[], \(texts)::text[]) AS u(n, t)
                        ON CONFLICT DO NOTHING)
                    SELECT pg_notify(\(BuildLog.channel), \(String(buildSeq)))
                    """, logger: database.logger)
                }
            } catch {
                database.logger.warning("cannot write the build log; keeping lines until the database is back",
                                        metadata: ["build_seq": "\(buildSeq)", "pending": "\(pending.count)", "error": "\(String(reflecting: error))"])
                return
            }
            pending.removeFirst(numbers.count)
            if dropped > 0, pending.isEmpty {
                pending.append((next, "… \(dropped) earlier lines were lost while the database was unreachable"))
                next += 1
                dropped = 0
            }
        }
    }
}
