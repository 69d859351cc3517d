import Foundation
import KilnBuildpacks
import KilnRuntimes
import KilnSandbox

/// The runtimes a build's built-in builders use: for each, the versions
/// chosen of the runtimes its builder.conf names. Handed to compile (which
/// mounts them and tells the builder) and to the dependency cache (whose
/// toolchain key they are).
struct RuntimeSelection: Sendable, Equatable {
    /// By builder name, its main runtime first.
    var byBuilder: [String: [Runtime]] = [:]

    /// Where a selected runtime of the farm's runtimes directory is, read-only, in the sandbox.
    static func inside(_ runtime: Runtime) -> String { "/kiln/runtimes/\(runtime.kind)" }

    /// The runner with every selected runtime mounted, and each builder told
    /// its own: `KILN_RUNTIME_VERSION` always, `KILN_RUNTIME_HOME` and PATH
    /// when the runtime is not the stack's own toolchain.
    func applied(to runner: BuildpackRunner) -> BuildpackRunner {
        var runner = runner
        var mounted: Set<String> = []
        for (builder, runtimes) in byBuilder.sorted(by: { $0.key < $1.key }) {
            guard let main = runtimes.first else { continue }
            var variables = ["KILN_RUNTIME_VERSION": main.version.description]
            var path: [String] = []
            for runtime in runtimes {
                guard let directory = runtime.directory else { continue }
                let inside = Self.inside(runtime)
                if mounted.insert(inside).inserted {
                    runner.sandbox.mounts.append(SandboxMount(host: directory, inside: inside, writable: false))
                }
                path.append(inside + "/bin")
                if runtime == main { variables["KILN_RUNTIME_HOME"] = inside }
            }
            if !path.isEmpty { variables["PATH"] = (path + [BuildpackRunner.searchPath]).joined(separator: ":") }
            runner.buildpackEnvironment[builder] = variables
        }
        return runner
    }
}

/// The runtime phase, right after detect: each built-in builder of the
/// build reads the version the app asks for (``RuntimeRequest``) and gets
/// the newest runtime the farm has that meets it: the stack's own
/// toolchain or one of `--runtimes` (for Erlang and Elixir, one of the same
/// series stands in, the mismatch named). When none does, the build fails here,
/// before anything is installed, in one line naming the file, what it asks
/// and what the farm has.
struct SelectRuntimes {
    let buildersDirectory: URL
    let runtimesDirectory: URL
    let probe: ToolchainProbe
    /// The build's stack, whose own toolchains are runtimes too.
    let stack: Stack

    /// What the stack's own toolchains are called in the log: `host`, or `stack bookworm`.
    var system: String { stack.root == nil ? "host" : "stack \(stack.name)" }

    func run(_ context: BuildContext, buildpacks: [Buildpack]) async throws -> RuntimeSelection {
        var selection = RuntimeSelection()
        var added: [Runtime]?
        for buildpack in buildpacks {
            guard buildpack.isBuiltIn else { continue }
            let builder = BuiltInBuilder.load(name: buildpack.reference, directory: buildersDirectory.appendingPathComponent(buildpack.reference))
            var chosen: [Runtime] = []
            for name in builder.runtimes {
                guard let kind = RuntimeKind.named(name) else {
                    throw BuildFailure("builders/\(builder.name)/builder.conf names the runtime \(name), which Kiln does not know (\(RuntimeKind.all.map(\.name).joined(separator: ", ")))")
                }
                if added == nil { added = RuntimeCatalog.scan(runtimesDirectory) }
                let catalog = await self.catalog(kind, added: added ?? [])
                let app = context.workspace.app
                do {
                    let request = try RuntimeRequest.read(name) { file in
                        try HostileInput.readText(file, in: app, label: "the app", cap: HostileInput.versionFileCap)
                    }
                    guard let choice = try catalog.select(kind, for: request) else { continue }
                    let runtime = choice.runtime
                    chosen.append(runtime)
                    let asked = request.map { "\($0.file) asks for \($0.requirement)" } ?? "the app names no version"
                    if let mismatch = choice.mismatch {
                        await context.log(" !     \(mismatch)")
                    } else {
                        await context.log("-----> \(kind.title) \(runtime.label(system: system)) (\(asked))")
                    }
                } catch let error as RuntimeError {
                    throw BuildFailure(error.message)
                }
            }
            if !chosen.isEmpty { selection.byBuilder[builder.name] = chosen }
        }
        return selection
    }

    /// `kind`'s runtimes: the stack's own toolchain, when it has one, and those added.
    func catalog(_ kind: RuntimeKind, added: [Runtime]) async -> RuntimeCatalog {
        var runtimes = added.filter { $0.kind == kind.name }
        if let version = await probe.systemVersion(of: kind, on: stack) { runtimes.append(Runtime(kind: kind.name, version: version, directory: nil)) }
        return RuntimeCatalog(runtimes: runtimes, system: system)
    }
}
