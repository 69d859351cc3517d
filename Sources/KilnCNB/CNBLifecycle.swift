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

    public func run(_ order: CNBOrder, log: @escaping @Sendable (String) async throws -> Void) async throws -> (CNBDetected, [CNBBuilt]) {
        let detected = try await detector.run(order)
        let layers = try ConfinedDirectory(scripts.layout.layers, label: "the layers directory")
        try Self.write(Self.groupTOML(detected), named: "group.toml", in: layers)
        try Self.write(Self.planTOML(detected), named: "plan.toml", in: layers)
        var built: [CNBBuilt] = []
        var met: Set<String> = []
        for buildpack in detected.group {
            let mine = detected.plan.filter { $0.providers.contains(buildpack.reference) && !met.contains($0.name) }
            let plan = mine.flatMap { entry in entry.requires.isEmpty ? [CNBBuildPlan.Requirement(name: entry.name)] : entry.requires }
            let result = try await scripts.build(buildpack, plan: plan, after: built, log: log)
            let unmet = Set(result.layers.build?.unmet ?? [])
            met.formUnion(mine.map(\.name).filter { !unmet.contains($0) })
            built.append(result)
        }
        return (detected, built)
    }

    static func write(_ text: String, named name: String, in directory: ConfinedDirectory) throws {
        try? directory.remove(name)
        let handle = try directory.createFile(name)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// `group.toml`: the group's buildpacks in order, with their API.
    static func groupTOML(_ detected: CNBDetected) -> String {
        detected.group.map { "[[group]]\nid = \(CNBScripts.quoted($0.id))\nversion = \(CNBScripts.quoted($0.version))\napi = \(CNBScripts.quoted($0.api))\n" }
            .joined(separator: "\n")
    }

    /// `plan.toml`: each entry with its providers and requirements.
    static func planTOML(_ detected: CNBDetected) -> String {
        detected.plan.map { entry in
            var text = "[[entries]]\n"
            for provider in entry.providers {
                let parts = provider.split(separator: "@", maxSplits: 1).map(String.init)
                text += "[[entries.providers]]\nid = \(CNBScripts.quoted(parts[0]))\nversion = \(CNBScripts.quoted(parts.count > 1 ? parts[1] : ""))\n"
            }
            for requirement in entry.requires.isEmpty ? [CNBBuildPlan.Requirement(name: entry.name)] : entry.requires {
                text += "[[entries.requires]]\nname = \(CNBScripts.quoted(requirement.name))\n"
                if !requirement.metadata.isEmpty {
                    text += "[entries.requires.metadata]\n" + requirement.metadata.sorted { $0.key < $1.key }.map { "\(CNBScripts.quoted($0.key)) = \(CNBScripts.quoted($0.value))\n" }.joined()
                }
            }
            return text
        }.joined(separator: "\n")
    }
}
