import Foundation
import KilnConfine

/// The detect and build phases of the CNB lifecycle together: the order
/// resolved (``CNBDetector``), `group.toml` and `plan.toml` written to the
/// layers directory as the platform spec places them, then each buildpack
/// of the group built in turn (``CNBScripts/build(_:plan:after:log:)``)
/// with its buildpack plan: the plan's entries it provides, less those an
/// earlier provider met. An entry a buildpack lists as unmet in its
/// build.toml goes on to the next buildpack that provides it.
public struct CNBLifecycle: Sendable {
    public var detector: CNBDetector
    public var scripts: CNBScripts

    public init(detector: CNBDetector, scripts: CNBScripts) {
        self.detector = detector
        self.scripts = scripts
    }

    /// The detect phase alone: the order resolved, `group.toml` and `plan.toml` written.
    public func detect(_ order: CNBOrder) async throws -> CNBDetected {
        let detected = try await detector.run(order)
        let layers = try ConfinedDirectory(scripts.layout.layers, label: "the layers directory")
        try CNBTOMLWriter.replace("group.toml", with: Self.groupTOML(detected), in: layers)
        try CNBTOMLWriter.replace("plan.toml", with: Self.planTOML(detected), in: layers)
        return detected
    }

    /// The build phase alone: each buildpack of the detected group's bin/build in turn.
    public func build(_ detected: CNBDetected, log: @escaping @Sendable (String) async throws -> Void) async throws -> [CNBBuilt] {
        var built: [CNBBuilt] = []
        var met: Set<String> = []
        for buildpack in detected.group {
            let mine = detected.plan.filter { $0.providers.contains(buildpack.reference) && !met.contains($0.name) }
            let plan = mine.flatMap { entry in entry.requires.isEmpty ? [CNBBuildPlan.Requirement(name: entry.name)] : entry.requires }
            try await log("-----> \(buildpack.reference): bin/build")
            let result = try await scripts.build(buildpack, plan: plan, after: built, log: log)
            let unmet = Set(result.layers.build?.unmet ?? [])
            met.formUnion(mine.map(\.name).filter { !unmet.contains($0) })
            built.append(result)
        }
        return built
    }

    /// `group.toml`: the group's buildpacks in order, with their API.
    static func groupTOML(_ detected: CNBDetected) -> String {
        detected.group.map { "[[group]]\nid = \(CNBTOMLWriter.quoted($0.id))\nversion = \(CNBTOMLWriter.quoted($0.version))\napi = \(CNBTOMLWriter.quoted($0.api))\n" }
            .joined(separator: "\n")
    }

    /// `plan.toml`: each entry with its providers and requirements.
    static func planTOML(_ detected: CNBDetected) -> String {
        detected.plan.map { entry in
            var text = "[[entries]]\n"
            for provider in entry.providers {
                let parts = provider.split(separator: "@", maxSplits: 1).map(String.init)
                text += "[[entries.providers]]\nid = \(CNBTOMLWriter.quoted(parts[0]))\nversion = \(CNBTOMLWriter.quoted(parts.count > 1 ? parts[1] : ""))\n"
            }
            for requirement in entry.requires.isEmpty ? [CNBBuildPlan.Requirement(name: entry.name)] : entry.requires {
                text += CNBTOMLWriter.requirement(requirement, table: "entries.requires")
            }
            return text
        }.joined(separator: "\n")
    }
}
