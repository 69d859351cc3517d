import Foundation

/// The control groups that hold one sandboxed process tree: they cap its
/// memory, process count and CPU, tell afterwards whether a cap was hit, and
/// let every process in it be killed at once, however it was spawned.
///
/// On cgroup v2 (``UnifiedHierarchy``) that is one group with `memory.max`,
/// `memory.swap.max` 0, `pids.max` and `cpu.max`, under the worker's own
/// delegated subtree, killed with `cgroup.kill`. On cgroup v1 (and hybrid
/// hosts) it is a group per controller (`memory`, `pids`, `cpu`), each
/// beneath this process's own group of that controller, so a worker started
/// in a limited group keeps its builds inside that limit too.
struct ResourceGroup: Sendable {
    /// The v2 group, when the host is unified.
    let unified: URL?
    /// v1 group directories, one per controller that could be set up.
    let memory: URL?
    let pids: URL?
    let cpu: URL?
    let limits: SandboxLimits

    /// The scheduler period `cpu.max` and `cpu.cfs_period_us` take, in microseconds.
    static let cpuPeriod = 100_000

    /// Creates the groups; a controller that is missing or not writable is
    /// left out and named, with why, in `unavailable`.
    static func create(name: String, limits: SandboxLimits, root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")) -> (ResourceGroup, unavailable: [String]) {
        UnifiedHierarchy.isUnified(root: root) ? createUnified(name: name, limits: limits, root: root) : createV1(name: name, limits: limits, root: root)
    }

    static func createUnified(name: String, limits: SandboxLimits, root: URL) -> (ResourceGroup, unavailable: [String]) {
        let none = ResourceGroup(unified: nil, memory: nil, pids: nil, cpu: nil, limits: limits)
        let base: URL
        switch UnifiedHierarchy.prepare(root: root) {
        case .ready(let url): base = url
        case .unavailable(let why): return (none, ["cgroup v2: \(why)"])
        }
        let directory = base.appendingPathComponent("build-\(name)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        } catch {
            return (none, ["cgroup v2: cannot create \(directory.path): \(error)"])
        }
        var unavailable: [String] = []
        var settings: [(String, String, String)] = []
        if let bytes = limits.memoryBytes { settings += [("memory", "memory.max", "\(bytes)"), ("memory", "memory.swap.max", "0")] }
        if let count = limits.processes { settings.append(("pids", "pids.max", "\(count)")) }
        if let cpus = limits.cpus { settings.append(("cpu", "cpu.max", "\(Int(cpus * Double(cpuPeriod))) \(cpuPeriod)")) }
        for (controller, file, value) in settings {
            do {
                try UnifiedHierarchy.write(value, to: directory.appendingPathComponent(file))
            } catch {
                // No swap accounting (swapaccount=0, or no swap) leaves memory.swap.max out: memory.max still holds.
                if file == "memory.swap.max" { continue }
                unavailable.append("cgroup v2 \(controller) (\(error); is the controller delegated to the worker's group?)")
            }
        }
        return (ResourceGroup(unified: directory, memory: nil, pids: nil, cpu: nil, limits: limits), unavailable)
    }

    static func createV1(name: String, limits: SandboxLimits, root: URL) -> (ResourceGroup, unavailable: [String]) {
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
                unavailable.append("cgroup v1 \(controller)")
                return nil
            }
        }
        let memory = limits.memoryBytes.flatMap { bytes in
            // Swap would let a build exceed its memory unnoticed; memsw is absent without swap accounting.
            make("memory", [("memory.limit_in_bytes", "\(bytes)"), ("memory.swappiness", "0")])
        }
        let pids = limits.processes.flatMap { make("pids", [("pids.max", "\($0)")]) }
        let cpu = limits.cpus.flatMap { cpus in
            make("cpu", [("cpu.cfs_period_us", "\(cpuPeriod)"), ("cpu.cfs_quota_us", "\(Int(cpus * Double(cpuPeriod)))")])
        }
        return (ResourceGroup(unified: nil, memory: memory, pids: pids, cpu: cpu, limits: limits), unavailable)
    }

    /// What a worker could enforce of `limits` here: the groups are made and
    /// removed again; the result names what is missing (empty: everything holds).
    static func probe(_ limits: SandboxLimits) -> [String] {
        let (group, unavailable) = create(name: "probe-\(getpid())", limits: limits)
        group.remove()
        return unavailable
    }

    /// Which hierarchy holds the builds, for the worker's start line.
    static var hierarchy: String { UnifiedHierarchy.isUnified() ? "cgroup v2" : "cgroup v1" }

    /// The `cgroup.procs` files a process must write its pid into to join.
    var procsFiles: [String] {
        [unified, memory, pids, cpu].compactMap { $0?.appendingPathComponent("cgroup.procs").path }
    }

    /// The limit the group has hit so far, if any.
    func limitHit() -> SandboxLimit? {
        if let unified {
            if let bytes = limits.memoryBytes, Self.counter("oom_kill", in: Self.read(unified, "memory.events")) > 0 { return .memory(bytes: bytes) }
            if let count = limits.processes, Self.counter("max", in: Self.read(unified, "pids.events")) > 0 { return .processes(count) }
            return nil
        }
        if let memory, let bytes = limits.memoryBytes {
            let oom = Self.read(memory, "memory.oom_control")
            if Self.counter("oom_kill", in: oom) > 0 || Self.counter("under_oom", in: oom) > 0 { return .memory(bytes: bytes) }
        }
        if let pids, let count = limits.processes, Self.counter("max", in: Self.read(pids, "pids.events")) > 0 {
            return .processes(count)
        }
        return nil
    }

    /// Whether the CPU limit throttled the group at least once.
    func throttled() -> Bool {
        guard let group = unified ?? cpu, limits.cpus != nil else { return false }
        return Self.counter("nr_throttled", in: Self.read(group, "cpu.stat")) > 0
    }

    /// SIGKILLs every process still in the group, until none is left
    /// (`cgroup.kill` on v2, which also catches processes forking meanwhile).
    func killAll() {
        if let unified { try? UnifiedHierarchy.write("1", to: unified.appendingPathComponent("cgroup.kill")) }
        guard let group = unified ?? pids ?? memory ?? cpu else { return }
        for _ in 0..<50 {
            let pids = Self.read(group, "cgroup.procs").split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Kills what is left, then removes the groups.
    func remove() {
        killAll()
        for directory in [unified, memory, pids, cpu].compactMap({ $0 }) {
            for _ in 0..<50 where rmdir(directory.path) != 0 && errno == EBUSY { usleep(20_000) }
        }
    }

    static func read(_ group: URL, _ file: String) -> String {
        (try? String(contentsOf: group.appendingPathComponent(file), encoding: .utf8)) ?? ""
    }

    static func counter(_ name: String, in text: String) -> Int {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == name, let value = Int(parts[1]) { return value }
        }
        return 0
    }

    /// This process's path within `controller`'s v1 hierarchy, or with `nil`
    /// within the unified (v2) one (its line is `0::/PATH`), from /proc/self/cgroup.
    static func ownPath(_ controller: String?) -> String {
        let text = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let matches = controller.map { fields[1].split(separator: ",").contains(Substring($0)) } ?? (fields[0] == "0" && fields[1].isEmpty)
            if matches {
                return String(fields[2]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            }
        }
        return ""
    }
}
