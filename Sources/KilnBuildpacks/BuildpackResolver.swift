import Foundation
import KilnProcess

/// Turns buildpack references into directories: built-in builders from
/// Kiln's `builders/`, git buildpacks cloned afresh for each build (so that
/// a moved branch is always honoured).
public struct BuildpackResolver: Sendable {
    /// Kiln's built-in builders, one directory each.
    public var buildersDirectory: URL

    public init(buildersDirectory: URL) {
        self.buildersDirectory = buildersDirectory
    }

    /// The built-in builders, in the order their `bin/detect` is asked.
    public func builtInBuilders() throws -> [Buildpack] {
        let order = (try? String(contentsOf: buildersDirectory.appendingPathComponent("ORDER"), encoding: .utf8))?
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let names = try order ?? FileManager.default.contentsOfDirectory(atPath: buildersDirectory.path).sorted()
        return names.map { Buildpack(reference: $0, directory: buildersDirectory.appendingPathComponent($0)) }
            .filter { FileManager.default.isExecutableFile(atPath: $0.script("detect")) }
    }

    /// Fetches `reference` into `workspace` (for git) and returns it.
    public func resolve(_ reference: BuildpackReference, workspace: URL, log: @escaping @Sendable (String) async throws -> Void) async throws -> Buildpack {
        switch reference.source {
        case .builtIn(let name):
            let directory = buildersDirectory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("bin/compile").path) else {
                let known = (try? builtInBuilders().map(\.reference).joined(separator: ", ")) ?? ""
                throw BuildpackError("there is no built-in builder named \(name) (built-in: \(known))")
            }
            // A copy per build: a builder may leave an `export` file beside its scripts.
            let copy = workspace.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: directory, to: copy)
            return Buildpack(reference: name, directory: copy)
        case .git(let url, let ref):
            let directory = workspace.appendingPathComponent(UUID().uuidString)
            try await log("-----> Fetching buildpack \(reference)")
            let clone = try await Command("git", ["clone", "--quiet", "--", url, directory.path], environment: ["GIT_TERMINAL_PROMPT": "0"]).run()
            guard clone.succeeded else {
                throw BuildpackError("cannot fetch the buildpack \(url): \(clone.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            if let ref {
                let checkout = try await Command("git", ["-C", directory.path, "checkout", "--quiet", ref]).run()
                guard checkout.succeeded else {
                    throw BuildpackError("the buildpack \(url) has no ref \(ref): \(checkout.output.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
                // The ref may bring submodules of its own, as heroku-buildpack-multi allowed.
                _ = try? await Command("git", ["-C", directory.path, "submodule", "update", "--init", "--recursive", "--quiet"]).run()
            }
            let buildpack = Buildpack(reference: reference.description, directory: directory)
            guard FileManager.default.isExecutableFile(atPath: buildpack.script("compile")) else {
                throw BuildpackError("\(reference) is not a buildpack: it has no executable bin/compile")
            }
            return buildpack
        }
    }
}
