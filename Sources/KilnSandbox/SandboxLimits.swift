/// What one sandboxed program may use before it is stopped.
public struct SandboxLimits: Sendable, Equatable {
    /// Wall-clock time from start to end.
    public var wallTime: Duration
    /// Memory of the whole process tree (cgroup `memory`), or no limit.
    public var memoryBytes: Int?
    /// Processes and threads alive at once (cgroup `pids`), or no limit.
    public var processes: Int?
    /// Bytes of output; past it the program is stopped, so that a runaway
    /// loop cannot fill the database with its log.
    public var outputBytes: Int
    /// CPUs the whole tree may use at once (cgroup `cpu`: `cpu.max` on v2,
    /// `cpu.cfs_quota_us` on v1), or no limit: one build cannot starve the others.
    public var cpus: Double?

    public init(wallTime: Duration = .seconds(15 * 60), memoryBytes: Int? = 2 << 30, processes: Int? = 1024, outputBytes: Int = 16 << 20,
                cpus: Double? = nil) {
        self.wallTime = wallTime
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.outputBytes = outputBytes
        self.cpus = cpus
    }

    /// One line for a build's log: "limits 900 s, 2048 MiB, 1024 processes, 16 MiB of log".
    public var summary: String {
        "limits \(wallTime.components.seconds) s, \(memoryBytes.map { SandboxLimit.size($0) } ?? "unlimited memory"), "
            + "\(processes.map { "\($0) processes" } ?? "unlimited processes"), "
            + (cpus.map { String(format: "%g CPUs, ", $0) } ?? "") + "\(SandboxLimit.size(outputBytes)) of log"
    }
}

/// The limit that stopped a sandboxed program.
public enum SandboxLimit: Sendable, Equatable, CustomStringConvertible {
    case wallTime(Duration)
    case memory(bytes: Int)
    case processes(Int)
    case output(bytes: Int)

    public var description: String {
        switch self {
        case .wallTime(let limit): "time limit of \(limit.components.seconds) s reached"
        case .memory(let bytes): "memory limit of \(Self.size(bytes)) reached"
        case .processes(let count): "process limit of \(count) reached"
        case .output(let bytes): "log size limit of \(Self.size(bytes)) reached"
        }
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }
}
