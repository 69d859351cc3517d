import Foundation
import KilnArchive
import KilnBlobStore
import KilnCatalog
import KilnDatabase
import KilnHome
import KilnProcess
import KilnQueue
import PostgresNIO
import Synchronization

/// The measurements behind `kiln-bench queue`, on one database and one home
/// shared with the `kiln worker` processes it starts.
struct QueueBenchRun: Sendable {
    let database: Database
    let kiln: String
    let home: URL

    var queue: BuildQueue { BuildQueue(database: database, limits: QueueLimits(total: 1_000_000, perApp: 1_000_000)) }

    func serverVersion() async throws -> String {
        for try await version in try await database.client.query("SELECT current_setting('server_version')", logger: database.logger).decode(String.self) {
            return version
        }
        return "?"
    }

    /// Milliseconds from enqueue to claim of `samples` builds queued one at a
    /// time, 150-250 ms apart, to four idle workers started with `workerArguments`.
    func pickupLatency(label: String, samples: Int, workerArguments: [String]) async throws -> [Double] {
        let apps = try await createApps(prefix: label, count: samples)
        let digest = try sourceBlob()
        return try await withWorkers(prefix: label, count: 4, arguments: workerArguments) {
            for app in apps {
                _ = try await queue.enqueue(BuildRequest(app: app, commit: nil, branch: "main", sourceDigest: digest))
                try await Task.sleep(for: .milliseconds(150 + Int.random(in: 0..<100)))
            }
            try await waitUntilEnded(prefix: label, count: samples)
            return try await queue.figures(appsPrefixed: label).waits
        }
    }

    /// Builds claimed and completed per second by `claimers` concurrent
    /// claimers in this process, with nothing to build: the queue's own cost.
    func claimRate(claimers: Int, total: Int) async throws -> Double {
        let prefix = "claim\(claimers)"
        let apps = try await createApps(prefix: prefix, count: 64)
        for index in 0..<total {
            _ = try await queue.enqueue(BuildRequest(app: apps[index % apps.count], commit: nil, branch: "main",
                                                     sourceDigest: String(repeating: "0", count: 64), supersedesQueued: false))
        }
        let done = Counter()
        let queue = self.queue
        let digest = String(repeating: "a", count: 64)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for claimer in 0..<claimers {
                group.addTask {
                    while done.value.load(ordering: .relaxed) < total {
                        guard let build = try await queue.claim(worker: "\(prefix)-\(claimer)", lease: .seconds(60)) else {
                            // Every app with builds left is running one: wait for a completion.
                            try await Task.sleep(for: .milliseconds(1))
                            continue
                        }
                        try await queue.succeed(build, worker: "\(prefix)-\(claimer)",
                                                result: BuildResult(slugDigest: digest, manifestDigest: digest, signatureDigest: digest, slugSize: 0)) { _, _ in }
                        done.value.add(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        return Double(total) / (Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
    }

    struct Throughput {
        var buildsPerSecond: Double
        var waitP50: Double
        var runP50: Double
        var seconds: Double
    }

    /// `builds` builds, one per app, enqueued at once to `workers` listening
    /// workers: how fast the farm turns them into releases. The source is an
    /// empty Procfile app, or `source` (a blob digest) when given.
    func endToEnd(builds: Int, workers: Int, prefix: String = "e2e", source: String? = nil, workerArguments: [String] = []) async throws -> Throughput {
        let apps = try await createApps(prefix: prefix, count: builds)
        let digest = try source ?? sourceBlob()
        return try await withWorkers(prefix: prefix, count: workers, arguments: workerArguments) {
            for app in apps {
                _ = try await queue.enqueue(BuildRequest(app: app, commit: nil, branch: "main", sourceDigest: digest))
            }
            try await waitUntilEnded(prefix: prefix, count: builds)
            let figures = try await queue.figures(appsPrefixed: prefix)
            if figures.unsucceeded > 0 {
                print("  warning: \(figures.unsucceeded) of \(builds) builds did not succeed")
            }
            let seconds = figures.span
            return Throughput(buildsPerSecond: Double(builds) / max(seconds, 0.001), waitP50: percentile(figures.waits, 0.5),
                              runP50: percentile(figures.runs, 0.5), seconds: seconds)
        }
    }

    // MARK: - Helpers

    private func createApps(prefix: String, count: Int) async throws -> [String] {
        let catalog = Catalog(database: database)
        var names: [String] = []
        for index in 0..<count {
            names.append(try await catalog.createApp(name: "\(prefix)-\(index)").name)
        }
        return names
    }

    /// A Procfile app's source in the blob store the workers read: the
    /// smallest real build (the built-in procfile builder, a slug, a signature).
    /// `files` are added to it (a `.buildpacks` naming another buildpack).
    func sourceBlob(_ files: [String: String] = [:]) throws -> String {
        let blobs = try LocalBlobStore(root: KilnHome(home).blobs)
        let blob = try blobs.makeWriter()
        let writer = try ArchiveWriter(compression: .zstd) { try blob.write($0) }
        try writer.write(ArchiveEntry(path: "Procfile", kind: .file, permissions: 0o644), contents: Data("web: sleep infinity\n".utf8))
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            try writer.write(ArchiveEntry(path: path, kind: .file, permissions: 0o644), contents: Data(text.utf8))
        }
        try writer.finish()
        return try blob.commit().hex
    }

    /// Runs `body` while `count` `kiln worker` processes run, then stops them.
    private func withWorkers<T: Sendable>(prefix: String, count: Int, arguments: [String], _ body: () async throws -> T) async throws -> T {
        var tasks: [Task<Void, Never>] = []
        for index in 0..<count {
            var command = Command(kiln, ["worker", "--database-url", database.url.text, "--home", home.path,
                                         "--name", "\(prefix)-w\(index)"] + arguments,
                                  environment: ["KILN_LOG_LEVEL": "warning"])
            command.gracePeriod = .seconds(10)
            tasks.append(Task { _ = try? await command.run() })
        }
        defer { tasks.forEach { $0.cancel() } }
        let deadline = ContinuousClock.now + .seconds(60)
        let registry = WorkerRegistry(database: database)
        while try await registry.workers().filter({ $0.name.hasPrefix(prefix + "-w") }).count < count {
            guard ContinuousClock.now < deadline else { throw BenchError("the workers did not register within 60 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let result = try await body()
        for task in tasks {
            task.cancel()
            await task.value
        }
        return result
    }

    private func waitUntilEnded(prefix: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while try await queue.figures(appsPrefixed: prefix).ended < count {
            guard ContinuousClock.now < deadline else { throw BenchError("\(prefix): builds still not ended after 300 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Builds completed, shared by the claimers.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// A benchmark that could not run to its end.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
