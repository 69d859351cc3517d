import Foundation

/// A control group (cgroup v1 `memory` and `pids`) that holds one sandboxed
/// process tree: it caps memory and process count, tells afterwards whether
/// a cap was hit, and lets every process in it be killed at once, however it
/// was spawned.
///
/// Each group is created beneath this process's own group of that
/// controller, so a worker started in a limited group keeps its builds
/// inside that limit too.
struct ResourceGroup: Sendable {
    /// Group directories, one per controller that could be set up.
    let memory: URL?
    let pids: URL?
    let limits: SandboxLimits

    /// Creates the groups; a controller that is missing or not writable is
    /// left out and named in `unavailable`.
    static func create(name: String, limits: SandboxLimits, root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")) -> (ResourceGroup, unavailable: [String]) {
        var unavailable: [String] = []
        func make(_ controller: String, _ settings: [(String, String)]) -> URL? {
            let base = root.appendingPathComponent(controller).appendingPathComponent(ownPath(controller))
            let directory = base.appendingPathComponent("kiln-\(name)")
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                for (file, value) in settings {
                    try value.write(to: directory.appendingPathComponent(file), atomically: false, encoding: .utf8)
                }
                return directory
            } catch {
                try? FileManager.default.removeItem(at: directory)
                unavailable.append(controller)
                return nil
            }
        }
        let memory = limits.memoryBytes.flatMap { bytes in
            // Swap would let a build exceed its memory unnoticed; memsw is absent without swap accounting.
            make("memory", [("memory.limit_in_bytes", "\(bytes)"), ("memory.swappiness", "0")])
        }
        let pids = limits.processes.flatMap { make("pids", [("pids.max", "\($0)")]) }
        return (ResourceGroup(memory: memory, pids: pids, limits: limits), unavailable)
    }

    /// The `cgroup.procs` files a process must write its pid into to join.
    var procsFiles: [String] {
        [memory, pids].compactMap { $0?.appendingPathComponent("cgroup.procs").path }
    }

    /// The limit the group has hit so far, if any.
    func limitHit() -> SandboxLimit? {
        if let memory, let bytes = limits.memoryBytes,
           let oom = try? String(contentsOf: memory.appendingPathComponent("memory.oom_control"), encoding: .utf8),
           Self.counter("oom_kill", in: oom) > 0 || Self.counter("under_oom", in: oom) > 0 {
            return .memory(bytes: bytes)
        }
        if let pids, let count = limits.processes,
           let events = try? String(contentsOf: pids.appendingPathComponent("pids.events"), encoding: .utf8),
           Self.counter("max", in: events) > 0 {
            return .processes(count)
        }
        return nil
    }

    /// SIGKILLs every process still in the group, until none is left.
    func killAll() {
        guard let group = pids ?? memory else { return }
        for _ in 0..<50 {
            let procs = (try? String(contentsOf: group.appendingPathComponent("cgroup.procs"), encoding: .utf8)) ?? ""
            let pids = procs.split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Kills what is left, then removes the groups.
    func remove() {
        killAll()
        for directory in [memory, pids].compactMap({ $0 }) {
            for _ in 0..<50 where rmdir(directory.path) != 0 && errno == EBUSY { usleep(20_000) }
        }
    }

    static func counter(_ name: String, in text: String) -> Int {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name, let value = Int(parts[1]) { return value }
        }
        return 0
    }

    /// This process's path within `controller`'s hierarchy, from /proc/self/cgroup.
    static func ownPath(_ controller: String) -> String {
        let text = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if fields.count == 3, fields[1].split(separator: ",").contains(Substring(controller)) {
                return String(fields[2]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            }
        }
        return ""
    }
}
