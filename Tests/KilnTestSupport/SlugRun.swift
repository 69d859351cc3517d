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
    public static func get(_ path: String = "/", slugDirectory: URL, process: String = "web", patience: Duration = .seconds(60)) async throws -> String {
        let root = slugDirectory.appendingPathComponent("root")
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
                              limits: SandboxLimits(wallTime: patience + .seconds(30)))
        let script = #"for f in /app/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; exec bash -c "$0""#
        let output = OutputLines()
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                _ = try await sandbox.run("/bin/bash", ["-c", script, command],
                                          environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/app", "LANG": "C.UTF-8", "PORT": "\(port)"],
                                          workingDirectory: "/app") { output.append($0) }
                return nil
            }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + patience
            while ContinuousClock.now < deadline {
                let response = try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)\(path)"]).run()
                if response.succeeded { return response.output }
                try await Task.sleep(for: .milliseconds(250))
            }
            throw TestSetupError("\(command) did not answer on port \(port) within \(patience); it printed:\n\(output.text)")
        }
    }
}

/// Lines a running process printed, for a failure message.
final class OutputLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var text: String { storage.withLock { $0.suffix(40).joined(separator: "\n") } }
}
