import Foundation
import KilnCache
import KilnProcess

/// What a cache rule's toolchain commands print on this worker (`node
/// --version`), and each builder's own version (a digest of its files).
/// Outputs are kept for a minute, so an upgraded toolchain shows within one;
/// a builder's digest for the life of the process, which ships the builders.
actor ToolchainProbe {
    private var outputs: [String: (value: String, at: ContinuousClock.Instant)] = [:]
    private var builders: [String: String] = [:]

    func output(of command: String) async -> String {
        if let known = outputs[command], ContinuousClock.now - known.at < .seconds(60) { return known.value }
        let value: String
        do {
            let outcome = try await Command("/bin/sh", ["-c", command]).run(limit: 64 << 10)
            let printed = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            value = outcome.succeeded ? printed : "failed with status \(outcome.status)"
        } catch {
            value = "unavailable"
        }
        outputs[command] = (value, .now)
        return value
    }

    func version(ofBuilder directory: URL) -> String {
        if let known = builders[directory.path] { return known }
        let digest = String(CacheKey.directoryDigest(directory).prefix(16))
        builders[directory.path] = digest
        return digest
    }
}
