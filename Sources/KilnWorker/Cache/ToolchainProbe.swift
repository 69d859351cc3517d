import Foundation
import KilnCache
import KilnProcess
import KilnSandbox

/// What a cache rule's toolchain commands print on a stack of this worker
/// (`node --version`: the host's node, or the stack's, run in the sandbox
/// on that stack's root), and each builder's own version (a digest of its files).
/// Outputs are kept for a minute, so an upgraded toolchain shows within one;
/// a builder's digest for the life of the process, which ships the builders.
actor ToolchainProbe {
    private var outputs: [String: (value: String, at: ContinuousClock.Instant)] = [:]
    private var builders: [String: String] = [:]

    func output(of command: String, on stack: Stack = .host, user: SandboxUser? = nil) async -> String {
        // Per stack, and per making of it: a stack made again may hold another toolchain.
        let known = [stack.name, stack.made ?? "", command].joined(separator: "\u{0}")
        if let known = outputs[known], ContinuousClock.now - known.at < .seconds(60) { return known.value }
        let value: String
        do {
            let succeeded: Bool, printed: String, status: Int32
            if stack.root == nil {
                let outcome = try await Command("/bin/sh", ["-c", command]).run(limit: 64 << 10)
                (succeeded, printed, status) = (outcome.succeeded, outcome.output, outcome.status)
            } else {
                // The stack's toolchain is what its builds use; only the sandbox shows it (its root, no build's files).
                let sandbox = Sandbox(mounts: [], user: user, limits: SandboxLimits(wallTime: .seconds(60), outputBytes: 64 << 10), stack: stack)
                let (outcome, output) = try await sandbox.capture("/bin/sh", ["-c", command], environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"],
                                                                  workingDirectory: "/tmp", limit: 64 << 10)
                (succeeded, printed, status) = (outcome.succeeded, output, outcome.status)
            }
            value = succeeded ? printed.trimmingCharacters(in: .whitespacesAndNewlines) : "failed with status \(status)"
        } catch {
            value = "unavailable"
        }
        outputs[known] = (value, .now)
        return value
    }

    func version(ofBuilder directory: URL) -> String {
        if let known = builders[directory.path] { return known }
        let digest = String(CacheKey.directoryDigest(directory).prefix(16))
        builders[directory.path] = digest
        return digest
    }
}
