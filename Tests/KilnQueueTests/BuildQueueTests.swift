import Foundation
import KilnBuildLog
import KilnCatalog
import KilnDatabase
import KilnQueue
import KilnTestSupport
import Testing

@Suite struct BuildQueueTests {
    func withQueue(_ body: @Sendable (BuildQueue, Catalog) async throws -> Void) async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            try await body(BuildQueue(database: database), Catalog(database: database))
        }
    }

    func request(_ app: String, _ commit: String = "c1") -> BuildRequest {
        BuildRequest(app: app, commit: commit, branch: "main", sourceDigest: String(repeating: "0", count: 64))
    }

    @Test func concurrentClaimsNeverTakeTheSameBuild() async throws {
        try await withQueue { queue, catalog in
            for index in 0..<6 {
                _ = try await catalog.createApp(name: "app\(index)")
                _ = try await queue.enqueue(request("app\(index)"))
            }
            let claimed = try await withThrowingTaskGroup(of: Build?.self) { group in
                for worker in 0..<10 {
                    group.addTask { try await queue.claim(worker: "w\(worker)", lease: .seconds(30)) }
                }
                return try await group.reduce(into: [Build]()) { if let build = $1 { $0.append(build) } }
            }
            #expect(claimed.count == 6)
            #expect(Set(claimed.map(\.id)).count == 6)
            #expect(claimed.allSatisfy { $0.state == .running && $0.attempts == 1 })
        }
    }

    @Test func anAppNeverHasTwoBuildsRunning() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "solo")
            _ = try await catalog.createApp(name: "other")
            let first = try await queue.enqueue(request("solo", "c1"))
            let running = try #require(try await queue.claim(worker: "w1", lease: .seconds(30)))
            #expect(running.id == first.id)
            let second = try await queue.enqueue(request("solo", "c2"))
            let otherApp = try await queue.enqueue(request("other"))
            // The next claim skips solo's queued build while solo's first one runs.
            #expect(try await queue.claim(worker: "w2", lease: .seconds(30))?.id == otherApp.id)
            #expect(try await queue.claim(worker: "w2", lease: .seconds(30)) == nil)
            try await queue.fail(running, worker: "w1", reason: "boom")
            #expect(try await queue.claim(worker: "w2", lease: .seconds(30))?.id == second.id)
        }
    }

    @Test func aNewerPushSupersedesTheQueuedBuildOfItsApp() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "busy")
            let old = try await queue.enqueue(request("busy", "c1"))
            let new = try await queue.enqueue(request("busy", "c2"))
            #expect(try await queue.build(id: old.id)?.state == .superseded)
            #expect(try await queue.claim(worker: "w", lease: .seconds(30))?.id == new.id)
        }
    }

    @Test func retriesQueueBehindOthersInsteadOfSupersedingThem() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "again")
            let pushed = try await queue.enqueue(request("again", "c1"))
            let retried = try await queue.retry(id: pushed.id)
            #expect(try await queue.build(id: pushed.id)?.state == .queued)
            #expect(try await queue.claim(worker: "w", lease: .seconds(30))?.id == pushed.id)
            #expect(retried.commit == pushed.commit && retried.sourceDigest == pushed.sourceDigest)
        }
    }

    @Test func anAppWithFiftyQueuedBuildsDoesNotStarveAnAppWithOne() async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            let queue = BuildQueue(database: database, limits: QueueLimits(total: 1000, perApp: 100))
            let catalog = Catalog(database: database)
            for app in ["flood", "late", "later"] { _ = try await catalog.createApp(name: app) }
            var flood: [String] = []
            for index in 0..<50 {
                var build = request("flood", "c\(index)")
                build.supersedesQueued = false
                flood.append(try await queue.enqueue(build).id)
            }
            // One worker drains the queue; late pushes while flood's first build runs, later while its second does.
            var order: [String] = []
            let first = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
            order.append(first.id)
            let late = try await queue.enqueue(request("late"))
            try await queue.fail(first, worker: "w", reason: "done")
            for _ in 0..<3 {
                let build = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
                order.append(build.id)
                if build.id == flood[1] { _ = try await queue.enqueue(request("later")) }
                try await queue.fail(build, worker: "w", reason: "done")
            }
            #expect(order[0] == flood[0])
            #expect(order[1] == late.id, "the app that pushed once runs next: \(order)")
            #expect(order[2] == flood[1], "then flood again, in its own order: \(order)")
            let later = try #require(try await queue.builds(app: "later").first)
            #expect(order[3] == later.id, "an app that never built goes before flood's third: \(order)")
        }
    }

    @Test func succeedingRecordsReleasesNumberedPerApp() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "rel")
            for commit in ["c1", "c2"] {
                _ = try await queue.enqueue(request("rel", commit))
                let build = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
                let digest = String(repeating: commit == "c1" ? "1" : "2", count: 64)
                try await queue.succeed(build, worker: "w", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { connection, logger in
                    try await Catalog.recordRelease(app: build.app, buildSeq: build.seq, slugDigest: digest, on: connection, logger: logger)
                }
            }
            let releases = try await catalog.releases(app: "rel")
            #expect(releases.map(\.version) == [2, 1])
            #expect(releases.first?.slugDigest == String(repeating: "2", count: 64))
        }
    }

    /// A hot release is built against the newest release (its base); when
    /// another release lands first (a rollback here), the nodes may no longer
    /// run the base, and the hot build is released as a restart.
    @Test func aHotReleaseWhoseBaseIsNoLongerTheNewestIsRecordedAsARestart() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "hot")
            func release(_ commit: String, upgrade: Release.Upgrade? = nil, base: Int? = nil) async throws {
                _ = try await queue.enqueue(request("hot", commit))
                let build = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
                let digest = String(repeating: String(commit.last!), count: 64)
                try await queue.succeed(build, worker: "w", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { connection, logger in
                    try await Catalog.recordRelease(app: "hot", buildSeq: build.seq, slugDigest: digest, description: "Deploy \(commit)",
                                                    upgrade: upgrade, upgradeBase: base, on: connection, logger: logger)
                }
            }
            try await release("c1")
            try await release("c2", upgrade: Release.Upgrade(from: "0.1.0", to: "0.2.0"), base: 1)
            #expect(try await catalog.runningRelease(app: "hot")?.version == 2)
            // Built from v2, but v3 (a rollback to v1) is released first.
            _ = try await catalog.rollback(app: "hot", to: 1)
            try await release("c3", upgrade: Release.Upgrade(from: "0.2.0", to: "0.3.0"), base: 2)
            let releases = try await catalog.releases(app: "hot")
            #expect(releases.map(\.version) == [4, 3, 2, 1])
            #expect(releases[2].upgrade == Release.Upgrade(from: "0.1.0", to: "0.2.0"))
            #expect(releases[0].upgrade == nil)
            #expect(releases[0].description == "Deploy c3 (by restart: built as a hot upgrade of v2, but v3 was released meanwhile)")
        }
    }

    @Test func aBuildHeldByAnotherWorkerCannotBeCompletedByThisOne() async throws {
        try await withQueue { queue, catalog in
            _ = try await catalog.createApp(name: "held")
            _ = try await queue.enqueue(request("held"))
            let build = try #require(try await queue.claim(worker: "owner", lease: .seconds(30)))
            let digest = String(repeating: "a", count: 64)
            await #expect(throws: QueueError.self) {
                try await queue.succeed(build, worker: "intruder", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { _, _ in }
            }
            #expect(try await queue.renew(build, worker: "owner", lease: .seconds(30)))
            #expect(try await queue.isCancelRequested(build) == false)
            _ = try await queue.cancel(id: build.id)
            #expect(try await queue.isCancelRequested(build))
            // A stale attempt of the same worker is fenced out too.
            var stale = build
            stale.attempts -= 1
            #expect(try await queue.renew(stale, worker: "owner", lease: .seconds(30)) == false)
        }
    }

    @Test func keysAreCheckedAgainstTheirApp() async throws {
        try await withQueue { _, catalog in
            _ = try await catalog.createApp(name: "keyed")
            _ = try await catalog.createApp(name: "elsewhere")
            let key = try await catalog.createKey(app: "keyed")
            #expect(try await catalog.grant(for: key) == .app("keyed"))
            #expect(try await catalog.grant(for: key).allows(app: "elsewhere") == false)
            #expect(try await catalog.grant(for: key + "x") == .none)
            await #expect(throws: CatalogError.self) { try await catalog.createApp(name: "Bad_Name") }
            await #expect(throws: CatalogError.self) { try await catalog.createApp(name: "keyed") }
        }
    }
}

@Suite struct AbandonedBuildTests {
    @Test func aBuildWhoseWorkerStoppedRenewingIsRetriedThenFailed() async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            let queue = BuildQueue(database: database)
            _ = try await Catalog(database: database).createApp(name: "crashy")
            let queued = try await queue.enqueue(BuildRequest(app: "crashy", commit: "c", branch: "main", sourceDigest: String(repeating: "0", count: 64)))
            // Each worker "dies": it takes a lease that expires at once and never renews it.
            for attempt in 1...3 {
                try await database.client.query("UPDATE builds SET run_after = now() WHERE id = \(queued.id)")
                let build = try #require(try await queue.claim(worker: "dead-\(attempt)", lease: .zero))
                #expect(build.id == queued.id)
                #expect(build.attempts == attempt)
                try await Task.sleep(for: .milliseconds(20))
                #expect(try await queue.rescueAbandoned() == [queued.id])
            }
            let final = try #require(try await queue.build(id: queued.id))
            #expect(final.state == .failed)
            #expect(final.error == "worker lost 3 times: last on dead-3")
        }
    }
}

@Suite struct QueueHousekeepingTests {
    func request(_ app: String) -> BuildRequest {
        BuildRequest(app: app, commit: UUID().uuidString, branch: "main", sourceDigest: String(repeating: "0", count: 64))
    }

    @Test func aFullQueueRefusesNewBuildsWithAClearMessage() async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            let catalog = Catalog(database: database)
            for app in ["a", "b", "c"] { _ = try await catalog.createApp(name: app) }
            let queue = BuildQueue(database: database, limits: QueueLimits(total: 2, perApp: 25))
            _ = try await queue.enqueue(request("a"))
            _ = try await queue.enqueue(request("b"))
            let error = await #expect(throws: QueueError.self) { try await queue.enqueue(request("c")) }
            #expect(error?.code == .full)
            #expect(error?.message.contains("limit") == true)
            // A newer push of an app already queued replaces its build instead of adding one.
            let perApp = BuildQueue(database: database, limits: QueueLimits(total: 100, perApp: 0))
            await #expect(throws: QueueError.self) { try await perApp.enqueue(request("c")) }
        }
    }

    @Test func statsCountStatesAndPruningKeepsReleasedBuilds() async throws {
        let url = try await TestEnvironment.freshDatabase()
        try await Database.with(url: url, logger: TestEnvironment.logger) { database in
            _ = try await Catalog(database: database).createApp(name: "kept")
            let queue = BuildQueue(database: database)
            let digest = String(repeating: "1", count: 64)
            _ = try await queue.enqueue(request("kept"))
            let released = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
            try await queue.succeed(released, worker: "w", result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 1)) { connection, logger in
                try await Catalog.recordRelease(app: "kept", buildSeq: released.seq, slugDigest: digest, on: connection, logger: logger)
            }
            _ = try await queue.enqueue(request("kept"))
            let failed = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
            try await queue.fail(failed, worker: "w", reason: "boom")
            _ = try await queue.enqueue(request("kept"))

            let stats = try await queue.stats()
            #expect(stats.counts["succeeded"] == 1 && stats.counts["failed"] == 1 && stats.counts["queued"] == 1 && stats.counts["running"] == 0)
            #expect(stats.oldestQueuedSeconds != nil)

            // Logs: the released build's is old and goes; a log still being written stays.
            let log = BuildLog(database: database)
            let releasedLog = try await log.writer(buildSeq: released.seq)
            await releasedLog.append("-----> built")
            await releasedLog.flush()
            let cutoff = Date().addingTimeInterval(60)

            #expect(try await queue.prune(endedBefore: cutoff) == 1)
            #expect(try await queue.build(id: failed.id) == nil)
            #expect(try await queue.build(id: released.id) != nil)
            let releases = try await Catalog(database: database).releases(app: "kept")
            #expect(releases.count == 1 && releases.first?.build == released.id && releases.first?.slugDigest == digest)

            let running = try #require(try await queue.claim(worker: "w", lease: .seconds(30)))
            let runningLog = try await log.writer(buildSeq: running.seq)
            await runningLog.append("-----> still compiling")
            await runningLog.flush()
            #expect(try await log.prune(quietSince: Date().addingTimeInterval(-60)) == 0)
            let releasedAt = try #require(try await log.lines(buildSeq: released.seq).first?.at)
            let runningAt = try #require(try await log.lines(buildSeq: running.seq).first?.at)
            #expect(releasedAt < runningAt)
            #expect(try await log.prune(quietSince: releasedAt.addingTimeInterval(runningAt.timeIntervalSince(releasedAt) / 2)) == 1)
            #expect(try await log.lines(buildSeq: released.seq).isEmpty)
            #expect(try await log.lines(buildSeq: running.seq).count == 1)
        }
    }
}
