import Foundation
import KilnProcess
import Synchronization

/// Runs untrusted build code (buildpack scripts and what they start) in
/// bubblewrap: new user, pid, ipc, uts and, unless allowed, network
/// namespaces; the ``stack``'s system (the host's own, or a stack's root)
/// read-only; a private `/tmp`; the
/// mounts it is given and nothing else of the host's files, so Kiln's home
/// (signing key, database, other apps' sources and caches) does not exist in
/// there. As root it first drops to ``user`` with setpriv, because bubblewrap
/// started by root keeps root's access to files whatever uid it shows.
///
/// The whole process tree sits in a control group that caps its memory and
/// process count; a limit reached, the wall time spent or the output budget
/// exhausted kills the tree at once and the outcome names the limit.
public struct Sandbox: Sendable {
    public var mounts: [SandboxMount]
    /// Whether the program shares the host's network (to fetch dependencies).
    public var network: Bool
    /// The unprivileged user to run as when Kiln runs as root.
    public var user: SandboxUser?
    public var limits: SandboxLimits
    /// Whether the program runs in bubblewrap's namespaces. Off only for a
    /// program that makes its own (buildah, rootless: a user namespace per
    /// build, chroot for each RUN): it still runs as ``user``, under the
    /// same limits, and never as root.
    public var namespaces: Bool
    /// The system the program sees as `/usr`, `/etc`, `/bin`, `/lib`: the host's own, or a stack's root.
    public var stack: Stack
    /// How long a program stopped by cancellation has between SIGTERM and SIGKILL.
    public var gracePeriod: Duration = .seconds(1)

    public init(mounts: [SandboxMount], network: Bool = false, user: SandboxUser?, limits: SandboxLimits = SandboxLimits(), namespaces: Bool = true,
                stack: Stack = .host) {
        self.mounts = mounts
        self.stack = stack
        self.network = network
        self.user = user
        self.limits = limits
        self.namespaces = namespaces
    }

    /// Runs `program` inside, handing each output line to `output`; stops it
    /// when it exceeds a limit.
    public func run(_ program: String, _ arguments: [String], environment: [String: String], workingDirectory: String,
                    output: @escaping @Sendable (String) async throws -> Void) async throws -> SandboxOutcome {
        let (group, unavailable) = ResourceGroup.create(name: UUID().uuidString.prefix(12).lowercased(), limits: limits)
        defer { group.remove() }
        if !unavailable.isEmpty, getuid() == 0 {
            try await output("-----> Warning: \(unavailable.joined(separator: "; ")): these limits are not enforced")
        }
        var command = Command("/bin/sh", ["-c", Self.joinScript, "kiln-sandbox"] + group.procsFiles + ["--"]
                              + launcher(program, arguments, workingDirectory: workingDirectory),
                              environment: environment, inheritEnvironment: false)
        command.ownProcessGroup = true
        command.gracePeriod = gracePeriod
        let stopCommand = command

        let hit = Shared<SandboxLimit?>(nil)
        let limits = self.limits
        let stop: @Sendable (SandboxLimit) -> Void = { limit in
            let first = hit.value.withLock { current in
                if current == nil { current = limit; return true }
                return false
            }
            if first { group.killAll() }
        }
        let status: Int32 = try await withThrowingTaskGroup(of: Int32?.self) { tasks in
            tasks.addTask {
                let written = Shared(0)
                do {
                    return try await stopCommand.stream { line in
                        let total = written.value.withLock { $0 += line.utf8.count + 1; return $0 }
                        if total > limits.outputBytes {
                            stop(.output(bytes: limits.outputBytes))
                            throw OutputLimitReached()
                        }
                        try await output(line)
                    }
                } catch {
                    // Stopped for a limit: the tree was killed, or the task cancelled.
                    if error is OutputLimitReached || hit.value.withLock({ $0 }) != nil { return 128 + SIGKILL }
                    throw error
                }
            }
            tasks.addTask {
                let deadline = ContinuousClock.now + limits.wallTime
                while ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(200))
                    if Task.isCancelled { return nil }
                    if let limit = group.limitHit() {
                        stop(limit)
                        return nil
                    }
                }
                stop(.wallTime(limits.wallTime))
                return nil
            }
            var status: Int32 = 128 + SIGKILL
            // Whichever ends first ends the other: the program, or a limit.
            while let next = try await tasks.next() {
                if let next { status = next }
                tasks.cancelAll()
            }
            return status
        }
        if let limit = group.limitHit() { stop(limit) }
        var outcome = SandboxOutcome(status: status, limit: hit.value.withLock { $0 })
        outcome.cpuThrottled = group.throttled()
        return outcome
    }

    /// What of `limits` this host cannot enforce (controllers missing or not
    /// delegated), each with why; empty when every limit holds. Makes and
    /// removes a group to find out; blocks briefly.
    public static func unenforceable(_ limits: SandboxLimits) -> [String] {
        ResourceGroup.probe(limits)
    }

    /// The hierarchy builds' groups live in here: "cgroup v2" or "cgroup v1".
    public static var hierarchy: String { ResourceGroup.hierarchy }

    /// The same, collecting up to `limit` bytes of output instead of streaming it.
    public func capture(_ program: String, _ arguments: [String], environment: [String: String], workingDirectory: String,
                        limit: Int = 1 << 20) async throws -> (SandboxOutcome, String) {
        let collected = Shared("")
        let outcome = try await run(program, arguments, environment: environment, workingDirectory: workingDirectory) { line in
            collected.value.withLock { if $0.utf8.count < limit { $0 += line + "\n" } }
        }
        return (outcome, collected.value.withLock { $0 })
    }

    /// Joins the control groups named before `--` (as root, before dropping
    /// privileges), then becomes the rest of its arguments.
    static let joinScript = #"while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@""#

    /// setpriv (as root) and bwrap, ending with the program.
    func launcher(_ program: String, _ arguments: [String], workingDirectory: String) -> [String] {
        var line: [String] = []
        if getuid() == 0, let user {
            line += ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--inh-caps=-all", "--"]
        }
        guard namespaces else {
            return line + ["/usr/bin/env", "--chdir=\(workingDirectory)", "--", program] + arguments
        }
        line += ["/usr/bin/bwrap", "--unshare-all"]
        if network { line.append("--share-net") }
        line += ["--die-with-parent", "--new-session", "--hostname", "kiln-build"]
        line += stack.mountArguments(network: network)
        line += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
        for mount in mounts {
            line += [mount.writable ? "--bind" : "--ro-bind", mount.host.path, mount.inside]
        }
        // The sandbox's own root (a tmpfs holding the mount points) is read-only too.
        line += ["--remount-ro", "/"]
        line += ["--chdir", workingDirectory, "--", program] + arguments
        return line
    }
}

struct OutputLimitReached: Error {}

/// A value several tasks of one run update under a lock.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
