import Foundation
import KilnProcess
import KilnSandbox
import Synchronization

/// Runs a process type of a downloaded slug as a dyno would: unpacked at
/// /app, `.profile.d` scripts sourced, PORT set, as the unprivileged build
/// user in the sandbox with the host's network (so the test reaches it on
/// 127.0.0.1). Stands in for the release service and the dyno manager,
/// which are not part of Kiln.
public enum SlugRun {
    /// Starts `process` of the slug in `slugDirectory` (as `kiln slug get` wrote it),
    /// GETs `path` from it until it answers (up to `patience`), stops it, returns the body.
    /// The patience is long because a release's first boot on a loaded CI host
    /// (BEAM, its epmd, every suite building at once) has taken over a minute.
    public static func get(_ path: String = "/", slugDirectory: URL, process: String = "web", patience: Duration = .seconds(180)) async throws -> String {
        try await serving(slugDirectory: slugDirectory, process: process, path: path, patience: patience) { $0.body }
    }

    /// A started process of a slug: its port, its unpacked `/app` on the host,
    /// and the first answer to the path it was waited on with.
    public struct Serving: Sendable {
        public var port: Int
        public var app: URL
        public var body: String
    }

    /// Unpacks the slug into `root` (a fresh temporary directory when `nil`),
    /// starts `process` with `environment` added, waits until `path` answers,
    /// runs `body` while it serves, then stops it.
    public static func serving<T: Sendable>(slugDirectory: URL, into root: URL? = nil, process: String = "web", path: String = "/",
                                            environment: [String: String] = [:], patience: Duration = .seconds(180),
                                            _ body: @escaping @Sendable (Serving) async throws -> T) async throws -> T {
        let root = try root ?? TestEnvironment.temporaryDirectory("slug-run")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try await Command("tar", ["--zstd", "-xf", slugDirectory.appendingPathComponent("slug.tar.zst").path, "-C", root.path]).check()
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: slugDirectory.appendingPathComponent("manifest.json"))) as? [String: Any]
        guard let command = (manifest?["process_types"] as? [String: String])?[process] else {
            throw TestSetupError("the slug has no \(process) process type: \(manifest?["process_types"] ?? "none")")
        }
        let app = root.appendingPathComponent("app")
        let user = getuid() == 0 ? try SandboxUser.named("kiln-build") : nil
        try user?.own(app)
        let port = try KilnFarm.freePort()
        let sandbox = Sandbox(mounts: [SandboxMount(host: app, inside: "/app", writable: true)], network: true, user: user,
                              limits: SandboxLimits(wallTime: .seconds(900)))
        let script = #"for f in /app/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; exec bash -c "$0""#
        let output = OutputLines()
        // An epmd of its own: Erlang nodes of concurrent tests share the host's network, and their names would clash.
        let variables = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/app", "LANG": "C.UTF-8", "PORT": "\(port)",
                         "ERL_EPMD_PORT": "\(try KilnFarm.freePort())"].merging(environment) { $1 }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let outcome = try await sandbox.run("/bin/bash", ["-c", script, command], environment: variables, workingDirectory: "/app") { output.append($0) }
                throw TestSetupError("\(command) exited (\(outcome.status)) while it was needed; it printed:\n\(output.text)")
            }
            group.addTask {
                let deadline = ContinuousClock.now + patience
                while ContinuousClock.now < deadline {
                    let response = try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)\(path)"]).run()
                    if response.succeeded { return try await body(Serving(port: port, app: app, body: response.output)) }
                    try await Task.sleep(for: .milliseconds(250))
                }
                throw TestSetupError("\(command) did not answer on port \(port) within \(patience); it printed:\n\(output.text)")
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw TestSetupError("\(command) stopped")
        }
    }
}

/// Lines a running process printed, for a failure message.
final class OutputLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var text: String { storage.withLock { $0.suffix(40).joined(separator: "\n") } }
}
