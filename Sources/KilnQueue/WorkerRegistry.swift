import Foundation
import KilnDatabase
import Logging
import PostgresNIO

/// The workers of the farm as they report themselves: host, pid, capacity,
/// heartbeat. What each is running is read from the builds themselves, so
/// the two can never disagree. Workers silent for an hour are forgotten.
public struct WorkerRegistry: Sendable {
    /// A worker silent for longer than this is shown as lost.
    public static let lostAfter: Duration = .seconds(60)

    let database: Database
    var logger: Logger { database.logger }

    public init(database: Database) {
        self.database = database
    }

    /// Records a starting worker (or a restarted one under the same name).
    /// `limits` says what it enforces on builds; `unlimited`, that it was allowed to run them without.
    public func register(name: String, host: String, pid: Int, capacity: Int, limits: String = "", unlimited: Bool = false) async throws {
        try await database.client.query("""
            INSERT INTO workers (name, host, pid, capacity, limits, unlimited) VALUES (\(name), \(host), \(pid), \(capacity), \(limits), \(unlimited))
            ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, capacity = EXCLUDED.capacity,
                limits = EXCLUDED.limits, unlimited = EXCLUDED.unlimited, started_at = now(), heartbeat_at = now()
            """, logger: logger)
    }

    /// Records that the worker is alive, and forgets workers silent for an hour.
    public func heartbeat(name: String) async throws {
        try await database.client.query("UPDATE workers SET heartbeat_at = now() WHERE name = \(name)", logger: logger)
        try await database.client.query("DELETE FROM workers WHERE heartbeat_at < now() - interval '1 hour'", logger: logger)
    }

    /// Removes a worker that stopped cleanly.
    public func deregister(name: String) async throws {
        try await database.client.query("DELETE FROM workers WHERE name = \(name)", logger: logger)
    }

    /// Every known worker, by name.
    public func workers() async throws -> [WorkerRecord] {
        let lost = Double(Self.lostAfter.components.seconds)
        let rows = try await database.client.query("""
            SELECT w.name, w.host, w.pid, w.capacity, w.limits, w.unlimited, w.started_at, w.heartbeat_at,
                   w.heartbeat_at < now() - make_interval(secs => \(lost)) AS lost,
                   coalesce(array_agg(b.id ORDER BY b.seq) FILTER (WHERE b.id IS NOT NULL), '{}') AS running
            FROM workers w LEFT JOIN builds b ON b.worker = w.name AND b.state = 'running'
            GROUP BY w.name ORDER BY w.name
            """, logger: logger)
        var workers: [WorkerRecord] = []
        for try await (name, host, pid, capacity, limits, unlimited, started, heartbeat, lost, running) in rows.decode((String, String, Int, Int, String, Bool, Date, Date, Bool, [String]).self) {
            workers.append(WorkerRecord(name: name, host: host, pid: pid, capacity: capacity, limits: limits, unlimited: unlimited,
                                        startedAt: started, heartbeatAt: heartbeat, lost: lost, running: running))
        }
        return workers
    }
}

/// One worker as the registry knows it.
public struct WorkerRecord: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var pid: Int
    public var capacity: Int
    /// What it enforces on builds ("cgroup v2: 2048 MiB, 1024 processes").
    public var limits: String
    /// Started with `--unlimited-builds` on a host where it cannot enforce its limits.
    public var unlimited: Bool
    public var startedAt: Date
    public var heartbeatAt: Date
    /// No heartbeat for ``WorkerRegistry/lostAfter``: killed, frozen or cut off.
    public var lost: Bool
    /// The builds it is running now.
    public var running: [String]

    enum CodingKeys: String, CodingKey {
        case name, host, pid, capacity, lost, running, limits, unlimited
        case startedAt = "started_at"
        case heartbeatAt = "heartbeat_at"
    }
}
