import Foundation
import KilnConfine
import KilnSandbox

/// Runs a component buildpack's scripts in the build's ``Sandbox`` as the
/// Buildpack API (0.9–0.11) says: `bin/detect` with `CNB_BUILDPACK_DIR`,
/// `CNB_PLATFORM_DIR` and `CNB_BUILD_PLAN_PATH`, in `/workspace`, with a
/// clean environment (no variable of the worker reaches a build).
public struct CNBScripts: Sendable {
    public var layout: CNBLayout
    public var sandbox: Sandbox
    /// The stack's Heroku-style name and target, for `CNB_TARGET_*`.
    public var environment: [String: String]

    /// The largest plan a bin/detect may write.
    public static let maximumPlanSize = 1 << 20

    public init(layout: CNBLayout, sandbox: Sandbox, environment: [String: String] = [:]) {
        self.layout = layout
        var sandbox = sandbox
        sandbox.mounts += layout.mounts
        self.sandbox = sandbox
        self.environment = environment
    }

    var base: [String: String] {
        ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "HOME": CNBLayout.workspaceInside,
         "CNB_PLATFORM_DIR": CNBLayout.platformInside, "CNB_TARGET_OS": "linux", "CNB_TARGET_ARCH": "amd64"].merging(environment) { $1 }
    }

    /// Where `buildpack` is inside the sandbox.
    static func inside(_ buildpack: CNBBuildpackDescriptor) -> String {
        "\(CNBLayout.buildpacksInside)/\(CNBLayout.escaped(buildpack.id))/\(buildpack.version)"
    }

    /// The sandbox for one of `buildpack`'s scripts: the build's mounts and
    /// the buildpack's own directory, read-only, where a builder has it.
    func sandbox(for buildpack: CNBBuildpackDescriptor) throws -> Sandbox {
        guard let directory = buildpack.directory else {
            throw CNBError("\(buildpack.reference) has no directory of its own to run scripts from")
        }
        var sandbox = self.sandbox
        sandbox.mounts.append(SandboxMount(host: directory, inside: Self.inside(buildpack), writable: false))
        return sandbox
    }

    /// Runs `bin/detect`; its status, its plan (read beneath the plans
    /// directory, at most 1 MiB) and its last lines.
    public func detect(_ buildpack: CNBBuildpackDescriptor) async throws -> CNBDetectRun {
        let plan = "\(CNBLayout.escaped(buildpack.id))@\(buildpack.version).toml"
        var environment = base
        environment["CNB_BUILDPACK_DIR"] = Self.inside(buildpack)
        environment["CNB_BUILD_PLAN_PATH"] = "\(CNBLayout.plansInside)/\(plan)"
        // The build user owns the plans directory and writes the plan there; the worker reads it beneath it.
        let plans = try ConfinedDirectory(layout.plans, label: "the build plans")
        // The positional arguments too (deprecated since API 0.8, and still what the lifecycle passes):
        // buildpacks/samples' API 0.11 buildpacks read them.
        let (outcome, output) = try await sandbox(for: buildpack).capture(Self.inside(buildpack) + "/bin/detect",
                                                                          [CNBLayout.platformInside, environment["CNB_BUILD_PLAN_PATH"] ?? ""], environment: environment,
                                                          workingDirectory: CNBLayout.workspaceInside, limit: 64 << 10)
        if let limit = outcome.limit { throw CNBError("\(buildpack.reference): bin/detect stopped: \(limit)") }
        let lines = output.split(separator: "\n").map(String.init)
        guard outcome.status == 0 else { return CNBDetectRun(status: outcome.status, output: lines) }
        let text: String
        do {
            text = try plans.readText(plan, cap: Self.maximumPlanSize, links: .none) ?? ""
        } catch let error as ConfinedPathError {
            throw CNBError("\(buildpack.reference): its build plan \(error)")
        }
        return CNBDetectRun(status: 0, plan: try CNBBuildPlan.parse(text, file: "\(buildpack.reference)'s build plan"), output: lines)
    }
}

/// What one buildpack's bin/build left: its layers, and the environment
/// its build layers give the buildpacks after it.
public struct CNBBuilt: Sendable, Equatable {
    public var buildpack: CNBBuildpackDescriptor
    public var layers: CNBBuildpackLayers
    /// Its build layers, with their paths as the sandbox sees them.
    public var buildLayers: [CNBLayerEnv]
}

extension CNBScripts {
    /// Runs `bin/build` with `CNB_LAYERS_DIR` (its own, under `/layers`),
    /// `CNB_BP_PLAN_PATH` (the plan entries the group's detection gave it)
    /// and the environment the earlier buildpacks' build layers make
    /// (`earlier`, in order); every line it prints goes to `log`. Then reads
    /// its layers directory. A non-zero exit fails, naming the buildpack and
    /// quoting its last lines.
    public func build(_ buildpack: CNBBuildpackDescriptor, plan: [CNBBuildPlan.Requirement], after earlier: [CNBBuilt],
                      log: @escaping @Sendable (String) async throws -> Void) async throws -> CNBBuilt {
        let escaped = CNBLayout.escaped(buildpack.id)
        let planFile = "\(escaped)@\(buildpack.version).buildpack-plan.toml"
        let plans = try ConfinedDirectory(layout.plans, label: "the build plans")
        try CNBTOMLWriter.replace(planFile, with: Self.planTOML(plan), in: plans)

        var environment = CNBEnvironment.build(after: earlier.map(\.buildLayers), starting: base)
        environment["CNB_BUILDPACK_DIR"] = Self.inside(buildpack)
        environment["CNB_LAYERS_DIR"] = "\(CNBLayout.layersInside)/\(escaped)"
        environment["CNB_BP_PLAN_PATH"] = "\(CNBLayout.plansInside)/\(planFile)"
        // The layers directory of a buildpack is made by the build user, who owns /layers.
        // The positional arguments as the lifecycle still passes them (layers, platform, plan).
        let script = #"mkdir -p "$CNB_LAYERS_DIR" && exec "$CNB_BUILDPACK_DIR/bin/build" "$CNB_LAYERS_DIR" "$CNB_PLATFORM_DIR" "$CNB_BP_PLAN_PATH""#
        let tail = LastLines(count: 8)
        let outcome = try await sandbox(for: buildpack).run("/bin/sh", ["-c", script], environment: environment, workingDirectory: CNBLayout.workspaceInside) { line in
            tail.append(line)
            try await log(line)
        }
        let last = tail.lines
        if let limit = outcome.limit { throw CNBError("\(buildpack.reference): bin/build stopped: \(limit)") }
        guard outcome.status == 0 else {
            throw CNBError("\(buildpack.reference): bin/build exited \(outcome.status)" + (last.isEmpty ? "" : "; its last lines:\n" + last.joined(separator: "\n")))
        }
        let root = try ConfinedDirectory(layout.layers, label: "the layers directory")
        let layers = try CNBBuildpackLayers.read(escaped, in: root, buildpack: buildpack.reference, plan: plan.map(\.name))
        // buildpack.md: a layer of no type is renamed <layer>.ignore, so no later buildpack depends on it.
        // Within the buildpack's directory, by its descriptor.
        if let own = try root.directory(escaped, links: .none) {
            for layer in layers.layers where layer.outcome == .ignored && (try? own.kind(of: layer.name, links: .none)) == .directory {
                try own.remove(layer.name + ".ignore")
                try own.renameEntry(layer.name, to: layer.name + ".ignore")
            }
        }
        var buildLayers: [CNBLayerEnv] = []
        for layer in layers.layers {
            guard case .provided(let types) = layer.outcome, types.build else { continue }
            var env = try CNBLayerEnv.load(layout.layers.appendingPathComponent(escaped).appendingPathComponent(layer.name), root: layout.layers,
                                           types: types, owner: buildpack.reference)
            env.path = "\(CNBLayout.layersInside)/\(escaped)/\(layer.name)"
            buildLayers.append(env)
        }
        return CNBBuilt(buildpack: buildpack, layers: layers, buildLayers: buildLayers)
    }

    /// The buildpack plan bin/build reads: `[[entries]]` with name and metadata.
    static func planTOML(_ entries: [CNBBuildPlan.Requirement]) -> String {
        entries.map { CNBTOMLWriter.requirement($0, table: "entries") }.joined()
    }
}

