import Foundation
import KilnConfine
import KilnSandbox

/// Runs buildpacks by the Heroku buildpack API, unchanged, each script in
/// the build's ``Sandbox``: `bin/detect BUILD_DIR`,
/// `bin/compile BUILD_DIR CACHE_DIR ENV_DIR`, `bin/release BUILD_DIR`, with
/// the `export` file each buildpack may leave sourced before the next one
/// compiles.
///
/// Scripts get a clean environment (no variable of the worker leaks into a
/// build): `PATH`, `HOME`, `LANG`, `STACK`, `SOURCE_VERSION`, `BUILD_DIR`,
/// `CACHE_DIR`, `ENV_DIR`, and the app's config as files in `ENV_DIR`, as
/// Heroku provides. A hot upgrade adds `KILN_HOT=true` and
/// `KILN_PREVIOUS_SLUG` (where the running slug is, read-only). Gigalixir's
/// buildpacks also read `GIGALIXIR_APP_NAME` and, on a hot push,
/// `GIGALIXIR_SHOULD_HOT_UPGRADE` (docs/gigalixir.md).
public struct BuildpackRunner: Sendable {
    /// The system the scripts run on; buildpacks see its Heroku name in `STACK`.
    public var stack: Stack
    /// The commit being built, in `SOURCE_VERSION`.
    public var sourceVersion: String
    /// The app's name, in `GIGALIXIR_APP_NAME`.
    public var appName: String
    public var layout: BuildLayout
    public var sandbox: Sandbox
    /// Variables one buildpack's compile and release get over the usual
    /// ones, by its reference: the runtime selected for a built-in builder.
    public var buildpackEnvironment: [String: [String: String]] = [:]

    public init(stack: Stack = .host, sourceVersion: String, appName: String = "", layout: BuildLayout,
                network: Bool = false, user: SandboxUser?, limits: SandboxLimits = SandboxLimits()) {
        self.stack = stack
        self.sourceVersion = sourceVersion
        self.appName = appName
        self.layout = layout
        self.sandbox = Sandbox(mounts: layout.mounts, network: network, user: user, limits: limits, stack: stack)
    }

    /// The PATH builds start with: the stack's own directories only.
    public static let searchPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

    var environment: [String: String] {
        var environment = [
            "PATH": Self.searchPath,
            "LANG": "C.UTF-8",
            "HOME": BuildLayout.appInside,
            "STACK": stack.heroku,
            "SOURCE_VERSION": sourceVersion,
            "BUILD_DIR": BuildLayout.appInside,
            "CACHE_DIR": BuildLayout.cacheInside,
            "ENV_DIR": BuildLayout.envInside,
            "GIGALIXIR_APP_NAME": appName,
        ]
        if layout.previous != nil {
            environment["KILN_HOT"] = "true"
            environment["KILN_PREVIOUS_SLUG"] = BuildLayout.previousInside
            environment["GIGALIXIR_SHOULD_HOT_UPGRADE"] = "true"
        }
        return environment
    }

    /// The environment of `buildpack`'s scripts: the usual one, with its own variables over it.
    func environment(for buildpack: Buildpack) -> [String: String] {
        environment.merging(buildpackEnvironment[buildpack.reference] ?? [:]) { $1 }
    }

    /// Runs `bin/detect`; returns the name it prints, or `nil` when it declines.
    public func detect(_ buildpack: Buildpack) async throws -> String? {
        try await detection(buildpack).name
    }

    /// Runs `bin/detect`: the name it prints when it accepts the app, and
    /// what it printed either way (a buildpack that declines often says
    /// why: "no requirements.txt", "STACK heroku-22 is not supported").
    public func detection(_ buildpack: Buildpack) async throws -> (name: String?, output: [String]) {
        let directory = try layout.inside(buildpack)
        let (outcome, output) = try await sandbox.capture(directory + "/bin/detect", [BuildLayout.appInside], environment: environment,
                                                          workingDirectory: BuildLayout.appInside, limit: 64 * 1024)
        if let limit = outcome.limit { throw BuildpackError("\(buildpack.reference): bin/detect stopped: \(limit)") }
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard outcome.succeeded else { return (nil, lines) }
        return (lines.first ?? buildpack.reference, lines)
    }

    /// Runs `bin/compile`, after sourcing the `export` files of the buildpacks
    /// that ran before it; every line it prints goes to `log`. Throws when it
    /// exits non-zero or a limit stops it, naming the buildpack, the status
    /// or limit, and its last lines.
    public func compile(_ buildpack: Buildpack, after previous: [Buildpack], log: @escaping @Sendable (String) async throws -> Void) async throws {
        let directory = try layout.inside(buildpack)
        let exports = try previous.filter { exportFile(of: $0) != nil }.map { try layout.inside($0) + "/export" }
        let script = #"bp="$1"; shift; for f in "$@"; do . "$f"; done; exec "$bp/bin/compile" "$BUILD_DIR" "$CACHE_DIR" "$ENV_DIR""#
        let tail = LastLines(count: 8)
        let outcome = try await sandbox.run("/bin/bash", ["-c", script, "compile", directory] + exports, environment: environment(for: buildpack),
                                            workingDirectory: BuildLayout.appInside) { line in
            tail.append(line)
            try await log(line)
        }
        let last = tail.lines.isEmpty ? "" : "; its last lines:\n" + tail.lines.joined(separator: "\n")
        if let limit = outcome.limit {
            throw BuildpackError("\(buildpack.reference): bin/compile stopped: \(limit)\(last)")
        }
        guard outcome.status == 0 else {
            throw BuildpackError("\(buildpack.reference): bin/compile exited \(outcome.status)\(last)")
        }
    }

    /// Runs `bin/release` when the buildpack has one, with `extra` over the
    /// usual environment, after sourcing the `export` files of the
    /// buildpacks before it and its own (as heroku-buildpack-multi and
    /// Gigalixir's buildpacks expect: gigalixir-buildpack-mix's web command
    /// comes from what its compile exported); returns what it declares.
    public func release(_ buildpack: Buildpack, after previous: [Buildpack] = [], extra: [String: String] = [:]) async throws -> ReleaseDeclaration {
        // The buildpack's directory is the build user's during compile: looked at beneath it, no link followed out.
        guard (try? ConfinedDirectory(buildpack.directory, label: "the buildpack").status(of: "bin/release", followingLast: true))??.isExecutableFile == true else { return ReleaseDeclaration() }
        let directory = try layout.inside(buildpack)
        let exports = try (previous + [buildpack]).filter { exportFile(of: $0) != nil }.map { try layout.inside($0) + "/export" }
        // Whatever an export file prints would land in the YAML: it goes nowhere.
        let script = #"bp="$1"; shift; for f in "$@"; do . "$f" >/dev/null 2>&1; done; exec "$bp/bin/release" "$BUILD_DIR""#
        let (outcome, output) = try await sandbox.capture("/bin/bash", ["-c", script, "release", directory] + exports,
                                                          environment: environment(for: buildpack).merging(extra) { $1 },
                                                          workingDirectory: BuildLayout.appInside)
        guard outcome.succeeded else {
            let reason = outcome.limit.map { "stopped: \($0)" } ?? "exited \(outcome.status)"
            throw BuildpackError("\(buildpack.reference): bin/release \(reason): \(output.split(separator: "\n").last ?? "")")
        }
        return try ReleaseDeclaration.parse(output, buildpack: buildpack.reference)
    }

    /// The `export` file a buildpack left for the ones after it, if any.
    public func exportFile(of buildpack: Buildpack) -> URL? {
        let url = buildpack.directory.appendingPathComponent("export")
        return (try? ConfinedDirectory(buildpack.directory, label: "the buildpack").kind(of: "export")) != nil ? url : nil
    }
}
