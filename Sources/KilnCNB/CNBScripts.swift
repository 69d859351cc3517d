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

    /// Runs `bin/detect`; its status, its plan (read beneath the plans
    /// directory, at most 1 MiB) and its last lines.
    public func detect(_ buildpack: CNBBuildpackDescriptor) async throws -> CNBDetectRun {
        let plan = "\(CNBLayout.escaped(buildpack.id))@\(buildpack.version).toml"
        var environment = base
        environment["CNB_BUILDPACK_DIR"] = Self.inside(buildpack)
        environment["CNB_BUILD_PLAN_PATH"] = "\(CNBLayout.plansInside)/\(plan)"
        // The build user owns the plans directory and writes the plan there; the worker reads it beneath it.
        let plans = try ConfinedDirectory(layout.plans, label: "the build plans")
        let (outcome, output) = try await sandbox.capture(Self.inside(buildpack) + "/bin/detect", [], environment: environment,
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
