/// How a sandboxed program ended.
public struct SandboxOutcome: Sendable {
    /// Its exit status, or 128 + signal as shells report it.
    public var status: Int32
    /// The limit that stopped it, if one did.
    public var limit: SandboxLimit?
    /// Whether its CPU limit held it back at least once (cgroup `cpu.stat` `nr_throttled`).
    public var cpuThrottled = false

    public var succeeded: Bool { status == 0 && limit == nil }
}
