import Foundation
import KilnProcess
import KilnSandbox

/// How the agent starts programs of a release: a slug's process type in the
/// sandbox (its app directory at `/app`, `.profile.d` sourced, the host's
/// network, as the run user when the agent is root), an image's command under
/// bubblewrap with its root file system as `/`, and a hot upgrade's command
/// beside a running slug.
struct Launcher: Sendable {
    /// The user programs run as; `nil` when the agent is not root.
    var user: SandboxUser?

    /// The variables every slug process starts with, beneath the app's.
    static let baseEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/app", "LANG": "C.UTF-8"]

    /// Sources every `/app/.profile.d/*.sh`, then runs its first argument with bash.
    static let profileScript = #"for f in /app/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; exec bash -c "$0""#

    /// Limits of a long-running process: no wall time to speak of, no output budget (it is not stored).
    static let serviceLimits = SandboxLimits(wallTime: .seconds(100 * 365 * 86_400), memoryBytes: nil, processes: 4096, outputBytes: .max)

    /// Runs `command` (a process type) of the slug unpacked at `app`, with `environment` over the base one.
    func slug(app: URL, command: String, environment: [String: String]) -> WebProcess.Runner {
        var sandbox = Sandbox(mounts: [SandboxMount(host: app, inside: "/app", writable: true)], network: true, user: user,
                              limits: Self.serviceLimits)
        sandbox.gracePeriod = .seconds(10)
        let started = sandbox
        let variables = Self.baseEnvironment.merging(environment) { $1 }
        return { output in
            try await started.run("/bin/bash", ["-c", Self.profileScript, command], environment: variables, workingDirectory: "/app") { output($0) }.status
        }
    }

    /// Runs the hot upgrade `command` of the new slug (mounted read-only at
    /// `/new`) against the running release at `/app` (writable), with the
    /// running process's environment; returns its status and last lines.
    func hotUpgrade(running: URL, new: URL, command: String, release: String, environment: [String: String]) async throws -> (Int32, String) {
        let sandbox = Sandbox(mounts: [SandboxMount(host: running, inside: "/app", writable: true), SandboxMount(host: new, inside: "/new", writable: false)],
                              network: true, user: user, limits: SandboxLimits(wallTime: .seconds(600), memoryBytes: nil))
        let variables = Self.baseEnvironment.merging(environment) { $1 }
        let lines = LastLines(count: 20)
        let line = "\(Self.quoted("/new/" + command)) \(Self.quoted("/app/_build/prod/rel/" + release))"
        let outcome = try await sandbox.run("/bin/bash", ["-c", Self.profileScript, line], environment: variables, workingDirectory: "/app") { lines.append($0) }
        let reason = outcome.limit.map { "\($0); " } ?? ""
        return (outcome.succeeded ? 0 : (outcome.status == 0 ? 1 : outcome.status), reason + lines.lines.suffix(10).joined(separator: "\n"))
    }

    /// Runs an image's `argv` with the unpacked `rootfs` as `/` (read-only), its
    /// working directory and `Env`, then `environment` (config vars and PORT).
    /// The variables are the process environment of bwrap (which passes its own
    /// on), not arguments: nothing of them is in a `/proc/PID/cmdline` any local
    /// user can read, and none of the agent's own variables is inherited.
    func image(rootfs: URL, argv: [String], workingDirectory: String, imageEnvironment: [String], environment: [String: String]) -> WebProcess.Runner {
        let started = imageCommand(rootfs: rootfs, argv: argv, workingDirectory: workingDirectory, imageEnvironment: imageEnvironment, environment: environment)
        return { output in try await started.stream { output($0) } }
    }

    /// The command ``image(rootfs:argv:workingDirectory:imageEnvironment:environment:)`` runs.
    func imageCommand(rootfs: URL, argv: [String], workingDirectory: String, imageEnvironment: [String], environment: [String: String]) -> Command {
        var line: [String] = []
        if let user {
            line += ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--inh-caps=-all", "--"]
        }
        line += ["/usr/bin/bwrap", "--unshare-all", "--share-net", "--die-with-parent", "--new-session", "--ro-bind", rootfs.path, "/",
                 "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", workingDirectory.isEmpty ? "/" : workingDirectory]
        var variables: [String: String] = [:]
        for entry in imageEnvironment {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2, !parts[0].isEmpty { variables[parts[0]] = parts[1] }
        }
        variables.merge(environment) { $1 }
        line += ["--"] + argv
        var command = Command(line[0], Array(line.dropFirst()), environment: variables, inheritEnvironment: false)
        command.ownProcessGroup = true
        command.gracePeriod = .seconds(10)
        return command
    }

    static func quoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
