import Foundation

/// Phases 3 and 5: restore the app's dependency cache into the build's
/// CACHE_DIR, and save it back after a successful compile.
///
/// The cache of an app is a directory under the worker's `cache/apps/`,
/// moved (not copied) in and out, so restoring costs a rename. A failed
/// build does not save, so a broken compile never poisons the next one.
struct DependencyCache {
    func restore(_ context: BuildContext) async throws {
        let stored = storedCache(context)
        if context.build.clean {
            try? FileManager.default.removeItem(at: stored)
            await context.log("-----> Cache purged (clean build requested)")
        }
        if FileManager.default.fileExists(atPath: stored.path) {
            try? FileManager.default.removeItem(at: context.workspace.cache)
            try FileManager.default.moveItem(at: stored, to: context.workspace.cache)
            await context.log("-----> Restored the dependency cache")
        }
        try await context.handOver(context.workspace.cache)
    }

    func save(_ context: BuildContext) async throws {
        let stored = storedCache(context)
        try FileManager.default.createDirectory(at: stored.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: stored)
        try FileManager.default.moveItem(at: context.workspace.cache, to: stored)
    }

    private func storedCache(_ context: BuildContext) -> URL {
        context.configuration.cacheDirectory.appendingPathComponent(context.build.app)
    }
}
