import Foundation
import KilnProcess

extension LayeredImage {
    /// The base image's environment (its config's `Env`), read from its
    /// registry: what a process of the exported image starts with, for
    /// exporters that work out an environment on top of it before export.
    public func baseEnvironment() async throws -> [String: String] {
        let reference = try ImageReference(parsing: base)
        let skopeo = Skopeo(registry: registry)
        let command = Command("/usr/bin/skopeo", ["inspect", "--config"] + (skopeo.isFarm(reference.repository) ? registry.options() : []) + [reference.transport])
        let outcome = try await command.capture()
        guard outcome.status == 0 else {
            throw ImageError("the run image \(base) cannot be read (\(Skopeo.reason(outcome.error))); build and push it, or point --cnb-run-image or --export-base-image at one the workers reach")
        }
        let config = try OCILayout.object(Data(outcome.output))
        var environment: [String: String] = [:]
        for entry in (config["config"] as? [String: Any])?["Env"] as? [String] ?? [] {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { environment[parts[0]] = parts[1] }
        }
        return environment
    }
}
