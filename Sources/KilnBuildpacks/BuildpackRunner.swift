import Foundation
import KilnProcess

/// Runs buildpacks by the Heroku buildpack API, unchanged:
/// `bin/detect BUILD_DIR`, `bin/compile BUILD_DIR CACHE_DIR ENV_DIR`,
/// `bin/release BUILD_DIR`, with the `export` file each buildpack may leave
/// sourced before the next one compiles.
///
/// Scripts get a clean environment (no variable of the worker leaks into a
/// build): `PATH`, `HOME`, `LANG`, `STACK`, `SOURCE_VERSION` and the app's
/// config in `ENV_DIR`, as Heroku provides.
public struct BuildpackRunner: Sendable {
    /// The stack name buildpacks see in `STACK`.
    public var stack: String
    /// The commit being built, in `SOURCE_VERSION`.
    public var sourceVersion: String

    public init(stack: String = "heroku-22", sourceVersion: String) {
        self.stack = stack
        self.sourceVersion = sourceVersion
    }

    var environment: [String: String] {
        [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "LANG": "C.UTF-8",
            "STACK": stack,
            "SOURCE_VERSION": sourceVersion,
            "CI": "",
        ]
    }

    /// Runs `bin/detect`; returns the name it prints, or `nil` when it declines.
    public func detect(_ buildpack: Buildpack, buildDirectory: URL) async throws -> String? {
        var command = Command(buildpack.script("detect"), [buildDirectory.path], environment: environment, inheritEnvironment: false, workingDirectory: buildDirectory.path)
        command.environment["HOME"] = buildDirectory.path
        let outcome = try await command.run(limit: 64 * 1024)
        guard outcome.succeeded else { return nil }
        let name = outcome.output.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return name.isEmpty ? buildpack.reference : name
    }

    /// Runs `bin/compile`, after sourcing the `export` files of the buildpacks
    /// that ran before it; every line it prints goes to `log`. Throws when it
    /// exits non-zero, naming the buildpack and the status.
    public func compile(_ buildpack: Buildpack, buildDirectory: URL, cacheDirectory: URL, envDirectory: URL,
                        exports: [URL], log: @escaping @Sendable (String) async throws -> Void) async throws {
        let script = #"bp="$1" build="$2" cache="$3" env="$4"; shift 4; for f in "$@"; do . "$f"; done; exec "$bp/bin/compile" "$build" "$cache" "$env""#
        var command = Command("/bin/bash", ["-c", script, "compile", buildpack.directory.path, buildDirectory.path, cacheDirectory.path, envDirectory.path] + exports.map(\.path),
                              environment: environment, inheritEnvironment: false, workingDirectory: buildDirectory.path)
        command.environment["HOME"] = buildDirectory.path
        // A cancelled build stops within a second or two, background jobs of the buildpack included.
        command.ownProcessGroup = true
        command.gracePeriod = .seconds(1)
        let status = try await command.stream(log)
        guard status == 0 else {
            throw BuildpackError("\(buildpack.reference): bin/compile exited \(status)")
        }
    }

    /// Runs `bin/release` when the buildpack has one; returns its default process types.
    public func release(_ buildpack: Buildpack, buildDirectory: URL) async throws -> ProcessTypes {
        guard FileManager.default.isExecutableFile(atPath: buildpack.script("release")) else { return ProcessTypes() }
        var command = Command(buildpack.script("release"), [buildDirectory.path], environment: environment, inheritEnvironment: false, workingDirectory: buildDirectory.path)
        command.environment["HOME"] = buildDirectory.path
        let outcome = try await command.run(limit: 1 << 20)
        guard outcome.succeeded else {
            throw BuildpackError("\(buildpack.reference): bin/release exited \(outcome.status): \(outcome.output.split(separator: "\n").last ?? "")")
        }
        return ProcessTypes.parseRelease(outcome.output)
    }

    /// The `export` file a buildpack left for the ones after it, if any.
    public func exportFile(of buildpack: Buildpack) -> URL? {
        let url = buildpack.directory.appendingPathComponent("export")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
