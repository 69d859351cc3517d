import Foundation
import KilnArchive
import KilnBlobStore
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnQueue

/// Worker processes (`kiln worker`) on a database of their own, with builds
/// enqueued straight into the queue: for testing the queue at scale, with
/// workers that can be killed, stopped and restarted.
public final class QueueFarm: Sendable {
    public let database: DatabaseURL
    public let home: URL
    public let buildpack: URL
    let tasks = TaskBox()

    /// - Parameter buildpackCompile: the test buildpack's `bin/compile`.
    public init(database: DatabaseURL, buildpackCompile: String) async throws {
        self.database = database
        home = try TestEnvironment.temporaryDirectory("farm")
        buildpack = try await makeGitRepository([
            "bin/detect*": "#!/bin/sh\necho Test\n",
            "bin/compile*": buildpackCompile,
        ])
    }

    /// Starts `kiln worker --name NAME`; it runs until stopped or killed.
    public func startWorker(_ name: String, concurrency: Int = 1, lease: Int = 3, drainTimeout: Int = 600) {
        let command = Command(TestEnvironment.binary, [
            "worker", "--database-url", database.text, "--home", home.path, "--name", name,
            "--concurrency", "\(concurrency)", "--lease", "\(lease)", "--drain-timeout", "\(drainTimeout)",
        ] + TestEnvironment.trustedFetchOptions, environment: ["KILN_LOG_LEVEL": "warning"])
        let log = home.appendingPathComponent("\(name).log")
        tasks.add(name, Task {
            let outcome = try? await command.run(limit: 1 << 20)
            try? (outcome?.output ?? "").write(to: log, atomically: true, encoding: .utf8)
            return outcome?.status ?? -1
        })
    }

    /// The exit status of a worker started here, once it has exited.
    public func exitStatus(of name: String) async -> Int32? {
        await tasks.task(name)?.value
    }

    /// The pid a worker registered with.
    public func pid(of name: String) async throws -> Int32? {
        try await withDatabase { database in
            try await WorkerRegistry(database: database).workers().first { $0.name == name }.map { Int32($0.pid) }
        }
    }

    /// Stops every worker still running (SIGKILL via cancellation after its grace).
    public func stopAll() {
        tasks.cancelAll()
    }

    /// Queues a build of a Procfile app whose `.buildpacks` names the test buildpack.
    public func enqueue(app: String, commit: String = UUID().uuidString) async throws -> Build {
        let blobs = try LocalBlobStore(root: home.appendingPathComponent("blobs"))
        let blob = try blobs.makeWriter()
        let writer = try ArchiveWriter(compression: .zstd) { try blob.write($0) }
        try writer.write(ArchiveEntry(path: "Procfile", kind: .file, permissions: 0o644), contents: Data("web: ./run \(commit)\n".utf8))
        try writer.write(ArchiveEntry(path: ".buildpacks", kind: .file, permissions: 0o644), contents: Data("file://\(buildpack.path)\n".utf8))
        try writer.finish()
        let digest = try blob.commit()
        return try await withDatabase { database in
            try await BuildQueue(database: database).enqueue(BuildRequest(app: app, commit: commit, branch: "main", sourceDigest: digest.hex))
        }
    }

    public func withDatabase<T: Sendable>(_ body: @Sendable (Database) async throws -> T) async throws -> T {
        try await Database.with(url: database, logger: TestEnvironment.logger, body)
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    public func wait(upTo timeout: Duration, _ condition: @Sendable (Database) async throws -> Bool) async throws -> Bool {
        try await withDatabase { database in
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if (try? await condition(database)) == true { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return try await condition(database)
        }
    }
}

/// The worker tasks of a ``QueueFarm``, by name.
final class TaskBox: Sendable {
    private let tasks = Mutex<[String: Task<Int32, Never>]>([:])
    func add(_ name: String, _ task: Task<Int32, Never>) { tasks.withLock { $0[name] = task } }
    func task(_ name: String) -> Task<Int32, Never>? { tasks.withLock { $0[name] } }
    func cancelAll() { tasks.withLock { $0.values.forEach { $0.cancel() } } }
}

import Synchronization
