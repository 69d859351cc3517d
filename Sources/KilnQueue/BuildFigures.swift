import Foundation
import PostgresNIO

/// How the builds of a group of apps (those named `PREFIX-…`) went through
/// the queue: what `kiln-bench` reports, read where the table lives.
public struct BuildFigures: Sendable {
    /// Builds that are no longer queued or running.
    public var ended: Int
    /// Ended builds that did not succeed.
    public var unsucceeded: Int
    /// Milliseconds from enqueue to claim, one per claimed build.
    public var waits: [Double]
    /// Milliseconds from claim to end, one per ended build.
    public var runs: [Double]
    /// Seconds from the first enqueue to the last end.
    public var span: Double
}

extension BuildQueue {
    /// The figures of the builds of apps named `prefix-…`.
    public func figures(appsPrefixed prefix: String) async throws -> BuildFigures {
        let pattern = prefix + "-%"
        let rows = try await database.client.query("""
            SELECT state, extract(epoch FROM started_at - created_at)::float8 * 1000 AS wait,
                   extract(epoch FROM finished_at - started_at)::float8 * 1000 AS run, created_at, finished_at
            FROM builds WHERE app LIKE \(pattern)
            """, logger: logger)
        var figures = BuildFigures(ended: 0, unsucceeded: 0, waits: [], runs: [], span: 0)
        var first: Date?, last: Date?
        for try await row in rows {
            let r = row.makeRandomAccess()
            let state = try r["state"].decode(String.self)
            if let wait = try r["wait"].decode(Double?.self) { figures.waits.append(wait) }
            if let run = try r["run"].decode(Double?.self) { figures.runs.append(run) }
            let created = try r["created_at"].decode(Date.self)
            first = min(first ?? created, created)
            if let finished = try r["finished_at"].decode(Date?.self) { last = max(last ?? finished, finished) }
            guard state != "queued", state != "running" else { continue }
            figures.ended += 1
            if state != "succeeded" { figures.unsucceeded += 1 }
        }
        if let first, let last { figures.span = last.timeIntervalSince(first) }
        return figures
    }
}
