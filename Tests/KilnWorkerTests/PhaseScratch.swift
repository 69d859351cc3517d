import Foundation
import KilnBlobStore
import KilnBuildpacks
import KilnCatalog
import KilnQueue
import KilnSandbox
import KilnTestSupport
import Synchronization
@testable import KilnWorker

/// A build's log held in memory, with the same budget rule as the worker's
/// (``KilnBuildLog/BuildLogWriter``): past `maximumBytes` it is over budget.
final class MemoryLog: BuildLogSink {
    private let storage = Mutex<(lines: [String], bytes: Int)>(([], 0))
    let maximumBytes: Int

    init(maximumBytes: Int = 1 << 20) {
        self.maximumBytes = maximumBytes
    }

    func append(_ text: String) async {
        storage.withLock {
            $0.lines.append(text)
            $0.bytes += text.utf8.count + 1
        }
    }

    var overBudget: Bool { storage.withLock { $0.bytes > maximumBytes } }
    var lines: [String] { storage.withLock { $0.lines } }
    var text: String { lines.joined(separator: "\n") }
}

/// One build attempt's workspace, blob store and configuration in a fresh
/// directory, as a worker makes them, without a server or a database.
struct PhaseScratch {
    let root: URL
    let workspace: BuildWorkspace
    let blobs: BlobStorage
    let log: MemoryLog
    var configuration: WorkerConfiguration
    /// The build user the sandbox drops to, when the tests run as root (as a worker does).
    let user: SandboxUser?

    init(logBudget: Int = 1 << 20) throws {
        root = try TestEnvironment.temporaryDirectory("phase")
        workspace = try BuildWorkspace.create(under: root.appendingPathComponent("work"), build: "b-1", attempt: 1)
        blobs = BlobStorage(local: try LocalBlobStore(root: root.appendingPathComponent("blobs")))
        log = MemoryLog(maximumBytes: logBudget)
        let builders = root.appendingPathComponent("builders")
        try FileManager.default.createDirectory(at: builders, withIntermediateDirectories: true)
        configuration = WorkerConfiguration(home: root, buildersDirectory: builders, capacity: 1, name: "phase-test")
        user = getuid() == 0 ? try SandboxUser.named("kiln-build") : nil
        configuration.buildUser = user
    }

    /// A claimed build of the app `demo`, as the queue hands it to a worker.
    static func build(hot: Bool = false, sourceDigest: String = String(repeating: "0", count: 64)) throws -> Build {
        let row: [String: Any] = ["id": "b-1", "seq": 1, "app": "demo", "state": "running", "source_digest": sourceDigest,
                                  "clean": false, "hot": hot, "attempts": 1, "created_at": 0]
        return try JSONDecoder().decode(Build.self, from: JSONSerialization.data(withJSONObject: row))
    }

    func context(_ build: Build? = nil, app: App = App(name: "demo", deployBranch: "main", createdAt: Date()),
                 config: [String: String] = [:], configVersion: Int = 0) throws -> BuildContext {
        BuildContext(build: try build ?? Self.build(), settings: BuildSettings(app: app, config: ConfigVersion(app: "demo", version: configVersion, vars: config)),
                     workspace: workspace, configuration: configuration, blobs: blobs, logSink: log)
    }

    /// The sandbox for this workspace, as the slug pipeline makes it.
    func runner() -> BuildpackRunner {
        let layout = BuildLayout(app: workspace.app, cache: workspace.cache, env: workspace.env,
                                 buildpacks: workspace.buildpacks, builders: configuration.buildersDirectory)
        return BuildpackRunner(stack: .host, sourceVersion: "abc", appName: "demo", layout: layout, user: user, limits: configuration.buildLimits)
    }

    /// A buildpack under the workspace's buildpacks (the sandbox's `/buildpacks`), its scripts as given.
    func buildpack(_ name: String, _ scripts: [String: String]) throws -> Buildpack {
        let directory = workspace.buildpacks.appendingPathComponent(name)
        try writeFiles(Dictionary(uniqueKeysWithValues: scripts.map { ("bin/\($0.key)*", $0.value) }), in: directory)
        return Buildpack(reference: name, directory: directory)
    }

    /// Gives the workspace to the build user, as WriteConfig and restore do.
    func handOver() throws {
        guard let user else { return }
        for directory in [workspace.app, workspace.cache, workspace.env, workspace.buildpacks] { try user.own(directory) }
    }
}

/// The message of the ``BuildFailure`` `body` throws, or `nil` when it succeeds.
func failure<T>(_ body: () async throws -> T) async -> String? {
    do {
        _ = try await body()
        return nil
    } catch let error as BuildFailure {
        return error.message
    } catch {
        return "not a BuildFailure: \(String(reflecting: error))"
    }
}
