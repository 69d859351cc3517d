import Foundation
import KilnBuildpacks
import KilnCache
import KilnRuntimes
import KilnSandbox

/// What toolchain commands print where builds run: `node --version` in a
/// sandbox like a build's, on the build's stack (the host's own system, or
/// a stack's root), so on the toolchains builds see and not those on the
/// worker's own PATH; and each builder's own version (a digest of its
/// files). Outputs are kept for a minute per stack and per making of it,
/// so an upgraded toolchain shows within one; a builder's digest for the
/// life of the process, which ships the builders.
actor ToolchainProbe {
    private let user: SandboxUser?
    private let limits: SandboxLimits
    private var outputs: [String: (value: String, at: ContinuousClock.Instant)] = [:]
    private var builders: [String: String] = [:]

    init(user: SandboxUser?, limits: SandboxLimits = SandboxLimits()) {
        self.user = user
        var limits = limits
        limits.wallTime = min(limits.wallTime, .seconds(60))
        limits.outputBytes = 64 << 10
        self.limits = limits
    }

    func output(of command: String, on stack: Stack = .host) async -> String {
        // Per stack, and per making of it: a stack made again may hold another toolchain.
        let known = [stack.name, stack.made ?? "", command].joined(separator: "\u{0}")
        if let known = outputs[known], ContinuousClock.now - known.at < .seconds(60) { return known.value }
        let value: String
        do {
            let sandbox = Sandbox(mounts: [], network: false, user: user, limits: limits, stack: stack)
            let (outcome, printed) = try await sandbox.capture("/bin/sh", ["-c", command], environment: ["PATH": BuildpackRunner.searchPath, "LANG": "C.UTF-8", "HOME": "/tmp"],
                                                               workingDirectory: "/tmp", limit: 64 << 10)
            // The sandbox's own notices (limits it cannot enforce) are not the command's.
            let lines = printed.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----> ") }.joined(separator: "\n")
            value = outcome.succeeded ? lines.trimmingCharacters(in: .whitespacesAndNewlines) : "failed with status \(outcome.status)"
        } catch {
            value = "unavailable"
        }
        outputs[known] = (value, .now)
        return value
    }

    /// The version of `kind`'s toolchain builds on `stack` see without a runtime of their own; `nil` when they have none.
    func systemVersion(of kind: RuntimeKind, on stack: Stack) async -> RuntimeVersion? {
        let printed = await output(of: kind.versionCommand, on: stack)
        guard !printed.hasPrefix("failed with status"), printed != "unavailable" else { return nil }
        return kind.version(in: printed)
    }

    func version(ofBuilder directory: URL) -> String {
        if let known = builders[directory.path] { return known }
        let digest = String(CacheKey.directoryDigest(directory).prefix(16))
        builders[directory.path] = digest
        return digest
    }
}
