import Foundation
import KilnCNB
import KilnConfine
import KilnProcess
import KilnSandbox

/// The directories of a CNB build in the workspace: the layers, the
/// platform directory (`env/` of config vars) and the plans, beside the app.
struct CNBWorkspace: Sendable {
    let workspace: BuildWorkspace
    /// The part of the app that is built (paastech `path`), "" for all of it.
    let path: String

    var app: URL { path.isEmpty ? workspace.app : workspace.app.appendingPathComponent(path) }
    var layers: URL { workspace.root.appendingPathComponent("cnb-layers") }
    var platform: URL { workspace.root.appendingPathComponent("cnb-platform") }
    var plans: URL { workspace.root.appendingPathComponent("cnb-plans") }

    var layout: CNBLayout {
        CNBLayout(workspace: app, platform: platform, buildpacks: workspace.root.appendingPathComponent("cnb-buildpacks"), layers: layers, plans: plans)
    }
}

/// The detect and build phases of a CNB build: the order resolved (the
/// first passing group, its plan), then each buildpack's bin/build in the
/// sandbox on the app's stack, through ``KilnCNB/CNBLifecycle``. The
/// platform's `env/` holds the app file's build env, then the config vars
/// (which win), one file each as platform.md places them.
struct CNBBuild {
    let configuration: WorkerConfiguration
    let stack: Stack

    /// Makes the build's directories and gives them to the build user.
    func prepare(_ context: BuildContext, resolved: CNBBuildpacks.Resolved) async throws -> CNBWorkspace {
        let directories = CNBWorkspace(workspace: context.workspace, path: resolved.path)
        if !resolved.path.isEmpty {
            let kind = try HostileInput.kind(of: resolved.path, in: context.workspace.app, label: "the app")
            guard kind == .directory else {
                throw BuildFailure("paastech/buildpacks.yaml's path \(resolved.path) is not a directory of the app" + (kind.map { " (it is \($0))" } ?? ""))
            }
        }
        if let filter = resolved.filter {
            // After the app's own buildpacks were copied out: an excluded buildpack directory still builds.
            let (kept, removed) = try await onThread { try Self.apply(filter, to: ConfinedDirectory(directories.app, label: "the app"), relative: "") }
            await context.log("-----> project.toml \(filter.mode == .include ? "include" : "exclude"): \(removed) entries left out of the build, \(kept) kept")
        }
        for directory in [directories.layers, directories.platform.appendingPathComponent("env"), directories.plans] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) // farm-owned: the workspace, made by the worker
        }
        var env: [String: String] = [:]
        for (name, value) in resolved.env { env[name] = value }
        for (name, value) in context.settings.config.vars { env[name] = value }
        let platformEnv = try ConfinedDirectory(directories.platform.appendingPathComponent("env"), label: "the platform directory")
        for name in env.keys.sorted() {
            let handle = try platformEnv.createFile(name, mode: 0o400)
            try handle.write(contentsOf: Data((env[name] ?? "").utf8))
            try handle.close()
        }
        if !resolved.env.isEmpty {
            await context.log("-----> Build env from the app's file: \(resolved.env.map(\.0).joined(separator: ", "))")
        }
        for directory in [directories.layers, directories.plans, directories.platform] {
            try await context.handOver(directory)
        }
        return directories
    }

    /// Removes what `filter` leaves out of the app, beneath its descriptor,
    /// at every depth; the number of top entries kept and of entries removed.
    static func apply(_ filter: CNBSourceFilter, to directory: ConfinedDirectory, relative: String) throws -> (kept: Int, removed: Int) {
        var kept = 0, removed = 0
        for entry in try directory.entries() {
            let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
            switch filter.verdict(path, isDirectory: entry.kind == .directory) {
            case .keep:
                kept += 1
            case .remove:
                try directory.remove(entry.name)
                removed += 1
            case .descend:
                guard let child = try directory.directory(entry.name, links: .none) else { continue }
                let inner = try apply(filter, to: child, relative: path)
                removed += inner.removed
                // An included file's directories stay; under exclude a directory stays, emptied or not.
                if filter.mode == .include && inner.kept == 0 { try directory.remove(entry.name); removed += 1 } else { kept += 1 }
            }
        }
        return (kept, removed)
    }

    /// The lifecycle of the build, its scripts in the sandbox on the stack.
    func lifecycle(_ context: BuildContext, resolved: CNBBuildpacks.Resolved, directories: CNBWorkspace) -> CNBLifecycle {
        let sandbox = Sandbox(mounts: [], network: context.settings.app.buildNetwork, user: configuration.buildUser,
                              limits: configuration.buildLimits, stack: stack)
        let scripts = CNBScripts(layout: directories.layout, sandbox: sandbox,
                                 environment: ["CNB_STACK_ID": stack.heroku, "CNB_APP_DIR": CNBLayout.workspaceInside])
        let detector = CNBDetector(resolve: { entry in try resolved.resolve(entry) }, detect: { buildpack in try await scripts.detect(buildpack) })
        return CNBLifecycle(detector: detector, scripts: scripts)
    }

    /// The detect phase: the first group of the order that passes.
    func detect(_ context: BuildContext, lifecycle: CNBLifecycle, order: CNBOrder) async throws -> CNBDetected {
        let detected: CNBDetected
        do { detected = try await lifecycle.detect(order) } catch let error as CNBError { throw BuildFailure(error.message) }
        await context.log("-----> CNB group detected: \(detected.group.map(\.reference).joined(separator: ", "))")
        return detected
    }

    /// The build phase: each buildpack of the group's bin/build, its output in the log.
    func build(_ context: BuildContext, lifecycle: CNBLifecycle, detected: CNBDetected) async throws -> [CNBBuilt] {
        do {
            return try await lifecycle.build(detected) { line in try await context.logLine(line) }
        } catch let error as CNBError {
            throw BuildFailure(error.message)
        }
    }
}
