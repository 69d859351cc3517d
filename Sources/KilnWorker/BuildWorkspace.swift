import Foundation
import KilnConfine

/// The directories of one build attempt, under the worker's `work/`:
/// the app being built, its dependency cache, its config (ENV_DIR) and
/// fetched buildpacks. Removed when the attempt ends.
struct BuildWorkspace: Sendable {
    let root: URL
    var source: URL { root.appendingPathComponent("source.tar") }
    var app: URL { root.appendingPathComponent("app") }
    var cache: URL { root.appendingPathComponent("cache") }
    /// CACHE_DIR, with the few changes the worker makes to it.
    var cacheDirectory: CacheDirectory { CacheDirectory(url: cache) }
    var env: URL { root.appendingPathComponent("env") }
    var buildpacks: URL { root.appendingPathComponent("buildpacks") }
    /// Where a release tarball a buildpack left as its output (``ReleaseOutput``) is moved to.
    var releaseOutput: URL { root.appendingPathComponent("release-output.tar.gz") }

    static func create(under parent: URL, build: String, attempt: Int) throws -> BuildWorkspace {
        let workspace = BuildWorkspace(root: parent.appendingPathComponent("\(build).\(attempt)"))
        try ConfinedDirectory.removeTree(workspace.root)
        for directory in [workspace.app, workspace.cache, workspace.env, workspace.buildpacks] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) // farm-owned: the workspace, made by the worker
        }
        return workspace
    }

    /// Removes the attempt's directories without following any link a build left in them.
    func remove() {
        try? ConfinedDirectory.removeTree(root)
    }
}
