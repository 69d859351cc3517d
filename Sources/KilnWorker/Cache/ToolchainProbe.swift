import Foundation
import KilnBuildpacks
import KilnCache
import KilnRuntimes
import KilnSandbox

/// What toolchain commands print where builds run (`node --version` in a
/// sandbox like a build's, so on the toolchains builds see, not those on
/// the worker's own PATH), and each builder's own version (a digest of its
/// files). Outputs are kept for a minute, so an upgraded toolchain shows
/// within one; a builder's digest for the life of the process, which ships
/// the builders.
actor ToolchainProbe {
    private let sandbox: Sandbox
    private var outputs: [String: (value: String, at: ContinuousClock.Instant)] = [:]
    private var builders: [String: String] = [:]

    init(user: SandboxUser?, limits: SandboxLimits) {
        var limits = limits
        limits.wallTime = min(limits.wallTime, .seconds(30))
        sandbox = Sandbox(mounts: [], network: false, user: user, limits: limits)
    }

    func output(of command: String) async -> String {
        if let known = outputs[command], ContinuousClock.now - known.at < .seconds(60) { return known.value }
        let value: String
        do {
            let (outcome, printed) = try await sandbox.capture("/bin/sh", ["-c", command], environment: ["PATH": BuildpackRunner.searchPath, "LANG": "C.UTF-8", "HOME": "/tmp"], workingDirectory: "/tmp",
                                                               limit: 64 << 10)
            // The sandbox's own notices (limits it cannot enforce) are not the command's.
            let lines = printed.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----> ") }.joined(separator: "\n")
            value = outcome.succeeded ? lines.trimmingCharacters(in: .whitespacesAndNewlines) : "failed with status \(outcome.status)"
        } catch {
            value = "unavailable"
        }
        outputs[command] = (value, .now)
        return value
    }

    /// The version of `kind`'s toolchain builds see without a runtime of their own; `nil` when they have none.
    func systemVersion(of kind: RuntimeKind) async -> RuntimeVersion? {
        let printed = await output(of: kind.versionCommand)
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
