import Foundation
import Synchronization

/// cgroup v2, the unified hierarchy that current hosts mount alone: where a
/// worker's build groups go, and making that place.
///
/// cgroup v2 lets a group hand controllers to its children only while it
/// holds no process itself. So the worker moves itself into a leaf of its
/// own, `BASE/kiln-worker-PID/self`, enables `memory`, `pids` and `cpu` in
/// `BASE` and in `BASE/kiln-worker-PID`, and makes each build's group beside
/// `self`. `BASE` is the worker's own group (under systemd, its service's
/// group with `Delegate=yes`), or the parent of `kiln up`'s leaf
/// (`kiln-up`), into which `kiln up` moves itself and PostgreSQL first.
public enum UnifiedHierarchy {
    /// Where build groups go, once prepared, or why they cannot.
    public enum Preparation: Sendable, Equatable {
        case ready(URL)
        case unavailable(String)
    }

    /// The controllers a build's group uses.
    static let controllers = ["memory", "pids", "cpu"]

    /// Whether `root` is a pure cgroup v2 mount (a hybrid host's v1 controllers win).
    public static func isUnified(root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("cgroup.controllers").path)
    }

    /// This process's group, relative to the hierarchy's root (`0::/PATH` in /proc/self/cgroup).
    static func ownPath() -> String { ResourceGroup.ownPath(nil) }

    private static let prepared = Mutex<Preparation?>(nil)

    /// The group builds of this process go under, made on first use and
    /// kept for the process's life (idempotent, thread-safe).
    public static func prepare(root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")) -> Preparation {
        prepared.withLock { current in
            if let current { return current }
            let made = make(root: root)
            current = made
            return made
        }
    }

    static func make(root: URL) -> Preparation {
        var own = ownPath()
        let leaf = "kiln-worker-\(getpid())"
        if own.hasSuffix("/self"), own.split(separator: "/").dropLast().last?.hasPrefix("kiln-worker-") == true {
            // Already moved (a second preparation in one process): the builds' group is the leaf's parent.
            return .ready(root.appendingPathComponent(String(own.dropLast("/self".count))))
        }
        // kiln up's own leaf holds the server and PostgreSQL: its workers go beside it.
        if own.split(separator: "/").last == "kiln-up" { own = own.split(separator: "/").dropLast().joined(separator: "/") }
        let base = own.isEmpty ? root : root.appendingPathComponent(own)
        let worker = base.appendingPathComponent(leaf)
        let me = worker.appendingPathComponent("self")
        do {
            try FileManager.default.createDirectory(at: me, withIntermediateDirectories: true)
            try write("\(getpid())", to: me.appendingPathComponent("cgroup.procs"))
        } catch {
            return .unavailable("cannot make a group of its own under \(base.path) (\(error)): the worker's cgroup is not delegated to it")
        }
        let wanted = available(in: base)
        for group in [base, worker] {
            let enable = wanted.map { "+\($0)" }.joined(separator: " ")
            do {
                try write(enable, to: group.appendingPathComponent("cgroup.subtree_control"))
            } catch {
                return .unavailable("""
                    cannot enable \(wanted.joined(separator: ", ")) for builds in \(group.path) (\(error)): \
                    that group must hold no other process and have the controllers delegated \
                    (systemd: Delegate=yes in the worker's unit; Kubernetes: the pod's own group)
                    """)
            }
        }
        return .ready(worker)
    }

    /// The build controllers `group` offers its children.
    static func available(in group: URL) -> [String] {
        let offered = ((try? String(contentsOf: group.appendingPathComponent("cgroup.controllers"), encoding: .utf8)) ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        return controllers.filter(offered.contains)
    }

    /// Moves this process (with the children it starts afterwards) into
    /// `GROUP/kiln-up`, so that its workers can take the group's controllers
    /// for their builds. For `kiln up`, before it starts anything; does
    /// nothing on cgroup v1, or where it may not.
    public static func moveIntoOwnLeaf(named name: String = "kiln-up", root: URL = URL(fileURLWithPath: "/sys/fs/cgroup")) {
        guard isUnified(root: root) else { return }
        let own = ownPath()
        guard own.split(separator: "/").last.map(String.init) != name else { return }
        let leaf = (own.isEmpty ? root : root.appendingPathComponent(own)).appendingPathComponent(name)
        try? FileManager.default.createDirectory(at: leaf, withIntermediateDirectories: true)
        try? write("\(getpid())", to: leaf.appendingPathComponent("cgroup.procs"))
    }

    /// Writes a control file in one `write`, as the kernel wants it; the error carries errno's text.
    static func write(_ value: String, to file: URL) throws {
        let fd = open(file.path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ControlFileError(file: file.path, code: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw ControlFileError(file: file.path, code: errno) }
    }
}

/// A cgroup control file that could not be written.
struct ControlFileError: Error, CustomStringConvertible {
    let file: String
    let code: Int32
    var description: String { "\((file as NSString).lastPathComponent): \(String(cString: strerror(code)))" }
}
