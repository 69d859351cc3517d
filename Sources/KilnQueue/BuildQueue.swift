import Foundation
import KilnDatabase
import Logging
import PostgresNIO

/// The build queue, in PostgreSQL: the only thing receivers and workers share.
///
/// Workers claim with `FOR UPDATE SKIP LOCKED`, so any number of them on any
/// number of hosts never claim the same build; a partial unique index keeps
/// at most one build per app running. Every change that makes work available
/// sends `NOTIFY kiln_builds`; a change of state sends `NOTIFY kiln_build_state`
/// with the build id.
public struct BuildQueue: Sendable {
    /// The channel workers LISTEN on for new work.
    public static let workChannel = "kiln_builds"
    /// The channel that carries a build id whenever its state changes.
    public static let stateChannel = "kiln_build_state"

    let database: Database
    let limits: QueueLimits
    var logger: Logger { database.logger }

    public init(database: Database, limits: QueueLimits = QueueLimits()) {
        self.database = database
        self.limits = limits
    }

    /// Queues a build. Older builds of the same app that have not started are
    /// marked superseded: only the newest push is worth building. Throws a
    /// `.full` ``QueueError`` when the queue is at one of its ``QueueLimits``.
    public func enqueue(_ request: BuildRequest) async throws -> Build {
        try await database.transaction { connection in
            let counts = try await connection.query("""
                SELECT count(*) FILTER (WHERE app = \(request.app)), count(*) FROM builds WHERE state = 'queued'
                """, logger: logger)
            for try await (app, total) in counts.decode((Int, Int).self) {
                if total >= limits.total {
                    throw QueueError("the farm has \(total) builds queued, its limit: try again in a few minutes", code: .full)
                }
                if app >= limits.perApp {
                    throw QueueError("\(request.app) has \(app) builds queued, its limit: wait for them or cancel some (`kiln builds list --app \(request.app)`)", code: .full)
                }
            }
            if request.supersedesQueued {
                let superseded = try await connection.query("""
                    UPDATE builds SET state = 'superseded', finished_at = now(), error = 'superseded by a newer push'
                    WHERE app = \(request.app) AND state = 'queued' RETURNING id
                    """, logger: logger)
                for try await id in superseded.decode(String.self) {
                    try await connection.query("SELECT pg_notify(\(Self.stateChannel), \(id))", logger: logger)
                }
            }
            let rows = try await connection.query("""
                INSERT INTO builds (app, commit, branch, source_digest, clean, hot)
                VALUES (\(request.app), \(request.commit), \(request.branch), \(request.sourceDigest), \(request.clean), \(request.hot))
                RETURNING \(unescaped: Build.columns)
                """, logger: logger)
            guard let row = try await rows.collect().first else { throw QueueError("the build was not recorded") }
            let build = try Build(row: row)
            try await connection.query("SELECT pg_notify(\(Self.workChannel), \(build.id))", logger: logger)
            return build
        }
    }

    /// Claims a build for `worker`, or returns `nil` when there is none. The
    /// claim holds a lease of `lease` that ``renew`` extends.
    ///
    /// Apps take turns: the claim prefers the app whose last build started
    /// longest ago (or never), then the oldest build of that app. An app with
    /// fifty builds waiting therefore gets one build in before an app that
    /// pushed once after it, not fifty. Only each app's oldest claimable build
    /// is ranked, so the cost grows with the apps waiting, not their builds.
    public func claim(worker: String, lease: Duration) async throws -> Build? {
        try await rescueAbandoned()
        let seconds = Double(lease.components.seconds)
        // Two workers may pick two builds of one app at the same moment; the
        // unique index lets only one become running, the other tries again.
        for _ in 0..<5 {
            do {
                let rows = try await database.client.query("""
                    UPDATE builds SET state = 'running', attempts = attempts + 1, worker = \(worker),
                        started_at = now(), lease_expires_at = now() + make_interval(secs => \(seconds)), error = NULL
                    WHERE seq = (
                        SELECT b.seq FROM builds b
                        JOIN (SELECT DISTINCT ON (q.app) q.seq FROM builds q
                              WHERE q.state = 'queued' AND q.run_after <= now() ORDER BY q.app, q.seq) oldest ON oldest.seq = b.seq
                        -- Tested again on b itself: after waiting for a row lock, PostgreSQL
                        -- rechecks only b's own conditions, and another claim may have won it.
                        WHERE b.state = 'queued'
                          AND NOT EXISTS (SELECT 1 FROM builds r WHERE r.app = b.app AND r.state = 'running')
                        ORDER BY (SELECT max(s.started_at) FROM builds s WHERE s.app = b.app) ASC NULLS FIRST, b.seq
                        FOR UPDATE OF b SKIP LOCKED
                        LIMIT 1)
                      AND state = 'queued'
                    RETURNING \(unescaped: Build.columns)
                    """, logger: logger)
                guard let row = try await rows.collect().first else { return nil }
                let build = try Build(row: row)
                try await notifyState(build.id)
                return build
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                continue
            }
        }
        return nil
    }

    /// Puts back the running builds whose worker stopped renewing their lease
    /// (killed, frozen, cut off): queued again after a back-off growing with
    /// the attempts, or failed once they have had all their attempts.
    /// Returns the ids of the builds it rescued.
    @discardableResult
    public func rescueAbandoned() async throws -> [String] {
        let rows = try await database.client.query("""
            UPDATE builds SET
                state = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END,
                -- Exponential back-off (5 s, 10 s, 20 s, …) with ±25 % jitter, so rescued builds do not stampede.
                run_after = now() + make_interval(secs => 5 * power(2, attempts - 1) * (0.75 + random() / 2)),
                error = CASE WHEN cancel_requested THEN 'cancelled'
                             WHEN attempts >= max_attempts THEN 'worker lost ' || attempts || ' times: last on ' || worker
                             ELSE 'worker lost on ' || worker || '; retrying (attempt ' || attempts || ' of ' || max_attempts || ')' END,
                worker = NULL, lease_expires_at = NULL
            WHERE state = 'running' AND lease_expires_at < now()
            RETURNING id, state
            """, logger: logger)
        var rescued: [String] = []
        for try await (id, state) in rows.decode((String, String).self) {
            logger.warning("build abandoned by its worker", metadata: ["build": "\(id)", "now": "\(state)"])
            try await notifyState(id)
            rescued.append(id)
        }
        if !rescued.isEmpty {
            try await database.client.query("SELECT pg_notify(\(Self.workChannel), 'rescued')", logger: logger)
        }
        return rescued
    }

    /// Extends the lease of a running build. Returns `false` when the build is
    /// no longer this worker's to run (its lease expired and it was rescued).
    /// The claim's attempt number fences every write: a worker that lost its
    /// lease can change nothing of the retry that followed.
    public func renew(_ build: Build, worker: String, lease: Duration) async throws -> Bool {
        let seconds = Double(lease.components.seconds)
        let rows = try await database.client.query("""
            UPDATE builds SET lease_expires_at = now() + make_interval(secs => \(seconds))
            WHERE seq = \(build.seq) AND state = 'running' AND worker = \(worker) AND attempts = \(build.attempts)
            RETURNING seq
            """, logger: logger)
        return try await rows.collect().count == 1
    }

    /// Marks a running build succeeded and runs `alongside` in the same
    /// transaction (the release record), so that both happen or neither does.
    public func succeed(_ build: Build, worker: String, result: BuildResult, timings: [String: Int64] = [:],
                        alongside: @Sendable (PostgresConnection, Logger) async throws -> Void) async throws {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                UPDATE builds SET state = 'succeeded', finished_at = now(), lease_expires_at = NULL,
                    slug_digest = \(result.slugDigest), manifest_digest = \(result.manifestDigest),
                    signature_digest = \(result.signatureDigest), slug_size = \(result.slugSize),
                    image = \(result.image), image_ports = \(result.imagePorts),
                    timings = \(Build.encode(timings))::jsonb
                WHERE seq = \(build.seq) AND state = 'running' AND worker = \(worker) AND attempts = \(build.attempts)
                RETURNING seq
                """, logger: logger)
            guard try await rows.collect().count == 1 else {
                throw QueueError("build \(build.id) is no longer held by worker \(worker); its result was discarded", code: .fenced)
            }
            try await alongside(connection, logger)
            try await connection.query("SELECT pg_notify(\(Self.stateChannel), \(build.id)), pg_notify(\(Self.workChannel), \(build.id))", logger: logger)
        }
    }

    /// Marks a running build failed with `reason` (shown to the pusher).
    public func fail(_ build: Build, worker: String, reason: String, timings: [String: Int64] = [:]) async throws {
        try await finish(build, worker: worker, state: .failed, reason: reason, timings: timings)
    }

    private func finish(_ build: Build, worker: String, state: BuildState, reason: String?, timings: [String: Int64] = [:]) async throws {
        try await database.client.query("""
            UPDATE builds SET state = \(state.rawValue), finished_at = now(), lease_expires_at = NULL, error = \(reason?.storableText),
                timings = \(Build.encode(timings))::jsonb
            WHERE seq = \(build.seq) AND state = 'running' AND worker = \(worker) AND attempts = \(build.attempts)
            """, logger: logger)
        try await database.client.query("SELECT pg_notify(\(Self.stateChannel), \(build.id)), pg_notify(\(Self.workChannel), \(build.id))", logger: logger)
    }

    /// Cancels a build: a queued one at once, a running one when its worker
    /// next renews its lease. Returns the build as it now stands.
    public func cancel(id: String) async throws -> Build {
        let rows = try await database.client.query("""
            UPDATE builds SET
                state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
                cancel_requested = state IN ('queued', 'running')
            WHERE id = \(id)
            RETURNING \(unescaped: Build.columns)
            """, logger: logger)
        guard let row = try await rows.collect().first else { throw QueueError("there is no build \(id); see `kiln builds list`", code: .notFound) }
        try await notifyState(id)
        return try Build(row: row)
    }

    /// Cancels every queued and running build of `app` (it is being
    /// deleted): queued ones at once, running ones when their worker next
    /// checks (within a second). Returns their ids, oldest first.
    public func cancelBuilds(app: String) async throws -> [String] {
        let rows = try await database.client.query("""
            UPDATE builds SET
                state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
                cancel_requested = true
            WHERE app = \(app) AND state IN ('queued', 'running')
            RETURNING seq, id
            """, logger: logger)
        var cancelled: [(seq: Int64, id: String)] = []
        for try await build in rows.decode((Int64, String).self) { cancelled.append(build) }
        let ids = cancelled.sorted { $0.seq < $1.seq }.map(\.id)
        for id in ids { try await notifyState(id) }
        return ids
    }

    /// Puts a running build back in the queue, as if never claimed: its
    /// worker is shutting down. The attempt does not count against it.
    public func handBack(_ build: Build, worker: String) async throws {
        try await database.client.query("""
            UPDATE builds SET state = 'queued', worker = NULL, lease_expires_at = NULL, started_at = NULL,
                attempts = attempts - 1, run_after = now()
            WHERE seq = \(build.seq) AND state = 'running' AND worker = \(worker) AND attempts = \(build.attempts)
            """, logger: logger)
        try await database.client.query("SELECT pg_notify(\(Self.stateChannel), \(build.id)), pg_notify(\(Self.workChannel), \(build.id))", logger: logger)
    }

    /// Whether someone asked for this running build to stop.
    public func isCancelRequested(_ build: Build) async throws -> Bool {
        let rows = try await database.client.query("SELECT cancel_requested FROM builds WHERE seq = \(build.seq)", logger: logger)
        for try await requested in rows.decode(Bool.self) { return requested }
        return true
    }

    /// Queues a new build of the same source as build `id`.
    public func retry(id: String) async throws -> Build {
        guard let build = try await build(id: id) else { throw QueueError("there is no build \(id); see `kiln builds list`", code: .notFound) }
        return try await enqueue(BuildRequest(app: build.app, commit: build.commit, branch: build.branch,
                                              sourceDigest: build.sourceDigest, clean: build.clean, hot: build.hot,
                                              supersedesQueued: false))
    }

    /// Records that a running build was stopped on request.
    public func markCancelled(_ build: Build, worker: String) async throws {
        try await finish(build, worker: worker, state: .cancelled, reason: "cancelled")
    }

    /// Records the image a succeeded build's slug was exported as (`kiln images export`).
    public func recordImage(build id: String, image: String, ports: [Int]) async throws {
        let rows = try await database.client.query("""
            UPDATE builds SET image = \(image), image_ports = \(ports) WHERE id = \(id) AND state = 'succeeded' RETURNING seq
            """, logger: logger)
        guard try await rows.collect().count == 1 else { throw QueueError("build \(id) is not a succeeded build") }
    }

    /// One build by id, or `nil`.
    public func build(id: String) async throws -> Build? {
        let rows = try await database.client.query("SELECT \(unescaped: Build.columns) FROM builds WHERE id = \(id)", logger: logger)
        return try await rows.collect().first.map(Build.init(row:))
    }

    /// The newest succeeded build that made the slug `digest` (hex), or `nil`.
    public func build(slugDigest digest: String) async throws -> Build? {
        let rows = try await database.client.query("""
            SELECT \(unescaped: Build.columns) FROM builds WHERE slug_digest = \(digest) AND state = 'succeeded' ORDER BY seq DESC LIMIT 1
            """, logger: logger)
        return try await rows.collect().first.map(Build.init(row:))
    }

    /// The newest builds, of one app or of all, newest first.
    public func builds(app: String?, limit: Int = 50) async throws -> [Build] {
        let rows: PostgresRowSequence
        if let app {
            rows = try await database.client.query("SELECT \(unescaped: Build.columns) FROM builds WHERE app = \(app) ORDER BY seq DESC LIMIT \(limit)", logger: logger)
        } else {
            rows = try await database.client.query("SELECT \(unescaped: Build.columns) FROM builds ORDER BY seq DESC LIMIT \(limit)", logger: logger)
        }
        return try await rows.collect().map(Build.init(row:))
    }

    /// Counts per state, the oldest queued build's wait, running builds per worker.
    /// The farm's demand for build slots, as one number: builds queued or
    /// running. `kiln queue` shows it, and workers/kubernetes/keda.yaml scales
    /// workers on exactly this query (a test holds the two together).
    public static let demandQuery = "SELECT count(*) FROM builds WHERE state IN ('queued', 'running')"

    public func stats() async throws -> QueueStats {
        var counts = Dictionary(uniqueKeysWithValues: BuildState.allCases.map { ($0.rawValue, 0) })
        for try await (state, count) in try await database.client.query("SELECT state, count(*) FROM builds GROUP BY state", logger: logger).decode((String, Int).self) {
            counts[state] = count
        }
        var oldest: Double?
        for try await age in try await database.client.query("""
            SELECT extract(epoch FROM now() - min(created_at))::float8 FROM builds WHERE state = 'queued'
            """, logger: logger).decode(Double?.self) {
            oldest = age
        }
        var perWorker: [String: Int] = [:]
        for try await (worker, count) in try await database.client.query("""
            SELECT worker, count(*) FROM builds WHERE state = 'running' AND worker IS NOT NULL GROUP BY worker
            """, logger: logger).decode((String, Int).self) {
            perWorker[worker] = count
        }
        var demand = 0
        for try await count in try await database.client.query(PostgresQuery(unsafeSQL: Self.demandQuery), logger: logger).decode(Int.self) {
            demand = count
        }
        return QueueStats(counts: counts, oldestQueuedSeconds: oldest, runningPerWorker: perWorker, demand: demand)
    }

    /// Deletes the builds that ended before `cutoff` without succeeding (their
    /// log lines go with them). A succeeded build made a release, which keeps
    /// naming it, so it stays: a rollback can still name it. The logs of old
    /// builds that stay are ``KilnBuildLog``'s to prune. Returns the builds deleted.
    @discardableResult
    public func prune(endedBefore cutoff: Date) async throws -> Int {
        let rows = try await database.client.query("""
            DELETE FROM builds WHERE finished_at < \(cutoff) AND state <> 'succeeded'
            RETURNING seq
            """, logger: logger)
        return try await rows.collect().count
    }

    private func notifyState(_ id: String) async throws {
        try await database.client.query("SELECT pg_notify(\(Self.stateChannel), \(id))", logger: logger)
    }
}
