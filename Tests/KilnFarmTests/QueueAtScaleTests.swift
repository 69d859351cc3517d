import Foundation
import KilnCatalog
import KilnDatabase
import KilnQueue
import KilnTestSupport
import Testing

/// A buildpack that sleeps 0-200 ms at random, as the issue describes.
let randomSleep = "#!/bin/sh\nsleep $(awk 'BEGIN { srand(); printf \"%.3f\", rand() * 0.2 }')\necho slept\n"

@Suite(.serialized) struct QueueAtScaleTests {
    @Test func twoHundredBuildsOverTwentyAppsOnFourWorkersEndExactlyOnceWithoutOverlap() async throws {
        let farm = try await QueueFarm(database: try await TestEnvironment.freshDatabase(), buildpackCompile: randomSleep)
        defer { farm.stopAll() }
        let apps = (0..<20).map { "app\($0)" }
        try await farm.withDatabase { database in
            for app in apps { _ = try await Catalog(database: database).createApp(name: app) }
        }
        for index in 0..<4 { farm.startWorker("w\(index)", concurrency: 2, lease: 10) }
        // Ten waves of one push per app: later waves supersede what has not started yet.
        for _ in 0..<10 {
            for app in apps { _ = try await farm.enqueue(app: app) }
            try await Task.sleep(for: .milliseconds(150))
        }
        let settled = try await farm.wait(upTo: .seconds(240)) { database in
            try await BuildQueue(database: database).builds(app: nil, limit: 1000).allSatisfy(\.state.isFinal)
        }
        #expect(settled, "builds still queued or running after 240 s")

        try await farm.withDatabase { database in
            let builds = try await BuildQueue(database: database).builds(app: nil, limit: 1000)
            #expect(builds.count == 200)
            let states = Dictionary(grouping: builds, by: \.state).mapValues(\.count)
            #expect(Set(states.keys).isSubset(of: [.succeeded, .superseded]), "\(states)")
            #expect((states[.succeeded] ?? 0) >= 20, "every app's last push builds: \(states)")
            // Ended exactly once: one attempt each, one release per succeeded build.
            #expect(builds.filter { $0.state == .succeeded }.allSatisfy { $0.attempts == 1 })
            #expect(builds.filter { $0.state == .superseded }.allSatisfy { $0.attempts == 0 && $0.startedAt == nil })
            let catalog = Catalog(database: database)
            for app in apps {
                let releases = try await catalog.releases(app: app)
                let succeeded = builds.filter { $0.app == app && $0.state == .succeeded }
                #expect(releases.count == succeeded.count, "\(app)")
                #expect(Set(releases.map(\.build)) == Set(succeeded.map(\.id)), "\(app)")
                // The newest push of every app is built.
                #expect(builds.filter { $0.app == app }.max { $0.seq < $1.seq }?.state == .succeeded, "\(app)")
                // Never two builds of one app at once.
                let spans = succeeded.compactMap { build in build.startedAt.flatMap { start in build.finishedAt.map { (start, $0) } } }.sorted { $0.0 < $1.0 }
                for (earlier, later) in zip(spans, spans.dropFirst()) {
                    #expect(earlier.1 <= later.0, "\(app): builds overlap")
                }
            }
            // The work was shared: no worker did it all.
            let perWorker = Dictionary(grouping: builds.compactMap(\.worker), by: { $0 }).mapValues(\.count)
            #expect(perWorker.count >= 2, "\(perWorker)")
        }
    }

    @Test func aBuildOfAWorkerKilledMidBuildIsRescuedAndSucceedsOnAnotherWithOneRelease() async throws {
        let farm = try await QueueFarm(database: try await TestEnvironment.freshDatabase(), buildpackCompile: "#!/bin/sh\necho compiling\nsleep 2\necho compiled\n")
        defer { farm.stopAll() }
        try await farm.withDatabase { database in
            let catalog = Catalog(database: database)
            _ = try await catalog.createApp(name: "victim")
            // Its releases are handed off: the outbox row must be written once, with the one release.
            let vault = try ConfigVault.load(from: try TestEnvironment.temporaryDirectory("vault").appendingPathComponent("key"))
            _ = try await catalog.setReleaseWebhook(app: "victim", url: "http://127.0.0.1:9/releases", secret: "a-secret-of-sixteen-or-more", vault: vault)
        }
        farm.startWorker("doomed", lease: 3)
        let build = try await farm.enqueue(app: "victim")
        #expect(try await farm.wait(upTo: .seconds(60)) { try await BuildQueue(database: $0).build(id: build.id)?.state == .running })
        let pid = try #require(try await farm.pid(of: "doomed"))
        #expect(kill(pid, SIGKILL) == 0)
        farm.startWorker("survivor", lease: 3)

        #expect(try await farm.wait(upTo: .seconds(90)) { try await BuildQueue(database: $0).build(id: build.id)?.state.isFinal == true })
        try await farm.withDatabase { database in
            let final = try #require(try await BuildQueue(database: database).build(id: build.id))
            #expect(final.state == .succeeded)
            #expect(final.attempts == 2)
            #expect(final.worker == "survivor")
            let releases = try await Catalog(database: database).releases(app: "victim")
            #expect(releases.count == 1)
            // No server runs here to send it: one hand-off, pending.
            #expect(releases.first?.handoff == "pending", "\(releases)")
            let log = try await KilnBuildLogLines.all(database, seq: final.seq)
            #expect(log.contains("compiled"))
        }
    }

    @Test func sigtermDrainsThenHandsBackWhatDidNotFinish() async throws {
        let farm = try await QueueFarm(database: try await TestEnvironment.freshDatabase(), buildpackCompile: "#!/bin/sh\nsleep 5\necho done\n")
        defer { farm.stopAll() }
        try await farm.withDatabase { _ = try await Catalog(database: $0).createApp(name: "drained") }
        farm.startWorker("leaving", lease: 30, drainTimeout: 1)
        let build = try await farm.enqueue(app: "drained")
        #expect(try await farm.wait(upTo: .seconds(60)) { try await BuildQueue(database: $0).build(id: build.id)?.state == .running })
        let pid = try #require(try await farm.pid(of: "leaving"))
        let stopping = ContinuousClock.now
        #expect(kill(pid, SIGTERM) == 0)
        #expect(await farm.exitStatus(of: "leaving") == 0)
        #expect(ContinuousClock.now - stopping < .seconds(5))
        try await farm.withDatabase { database in
            let handedBack = try #require(try await BuildQueue(database: database).build(id: build.id))
            #expect(handedBack.state == .queued)
            #expect(handedBack.attempts == 0)
            #expect(try await WorkerRegistry(database: database).workers().isEmpty)
        }
        farm.startWorker("arriving", lease: 30)
        #expect(try await farm.wait(upTo: .seconds(60)) { try await BuildQueue(database: $0).build(id: build.id)?.state == .succeeded })
    }

    @Test func cancellingAQueuedBuildEndsItAtOnce() async throws {
        let farm = try await QueueFarm(database: try await TestEnvironment.freshDatabase(), buildpackCompile: randomSleep)
        try await farm.withDatabase { _ = try await Catalog(database: $0).createApp(name: "waiting") }
        let build = try await farm.enqueue(app: "waiting")
        try await farm.withDatabase { database in
            let cancelled = try await BuildQueue(database: database).cancel(id: build.id)
            #expect(cancelled.state == .cancelled)
            #expect(cancelled.finishedAt != nil)
            #expect(try await BuildQueue(database: database).claim(worker: "w", lease: .seconds(5)) == nil)
        }
    }
}

/// Reads a build's whole log for assertions.
enum KilnBuildLogLines {
    static func all(_ database: Database, seq: Int64) async throws -> [String] {
        var lines: [String] = []
        for try await line in try await database.client.query("SELECT line FROM build_log WHERE build_seq = \(seq) ORDER BY line_no").decode(String.self) {
            lines.append(line)
        }
        return lines
    }
}

@Suite struct DatabaseRestartTests {
    @Test func postgresStoppedAndRestartedMidRunLosesNoBuild() async throws {
        // A PostgreSQL of this test's own: the shared one must not restart under other tests.
        let postgres = LocalPostgres(directory: try TestEnvironment.temporaryDirectory("pg").appendingPathComponent("postgres"), logger: TestEnvironment.logger)
        try await postgres.start()
        let url = try DatabaseURL(postgres.url)
        _ = try await Database.with(url: url, logger: TestEnvironment.logger) { try await Migrations.apply(on: $0) }
        let farm = try await QueueFarm(database: url, buildpackCompile: "#!/bin/sh\necho one\nsleep 1\necho two\nsleep 1\necho three\n")
        defer { farm.stopAll() }
        let apps = (0..<6).map { "restart\($0)" }
        try await farm.withDatabase { database in
            for app in apps { _ = try await Catalog(database: database).createApp(name: app) }
        }
        farm.startWorker("steady1", concurrency: 2, lease: 60)
        farm.startWorker("steady2", concurrency: 2, lease: 60)
        var ids: [String] = []
        for app in apps { ids.append(try await farm.enqueue(app: app).id) }
        #expect(try await farm.wait(upTo: .seconds(60)) { database in
            try await BuildQueue(database: database).builds(app: nil).contains { $0.state == .running }
        })

        try await postgres.stop()
        try await Task.sleep(for: .seconds(3))
        try await postgres.start()

        let settled = try await farm.wait(upTo: .seconds(180)) { database in
            try await BuildQueue(database: database).builds(app: nil).allSatisfy(\.state.isFinal)
        }
        #expect(settled)
        try await farm.withDatabase { database in
            let builds = try await BuildQueue(database: database).builds(app: nil)
            #expect(builds.count == 6)
            #expect(builds.allSatisfy { $0.state == .succeeded }, "\(builds.map { "\($0.id) \($0.state) \($0.error ?? "")" })")
            for app in apps {
                #expect(try await Catalog(database: database).releases(app: app).count == 1, "\(app)")
            }
            for build in builds {
                let lines = try await KilnBuildLogLines.all(database, seq: build.seq)
                #expect(lines.contains("one") && lines.contains("three"), "\(build.id): \(lines)")
            }
        }
        farm.stopAll()
        try await postgres.stop()
    }
}
