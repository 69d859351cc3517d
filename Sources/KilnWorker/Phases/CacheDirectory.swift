import Foundation
import KilnCache
import KilnConfine

/// A build's CACHE_DIR, and every change the worker itself makes to it.
/// Buildpacks write it as they like (links included), so the worker changes
/// it only here, beneath its descriptor or by moving it whole, and only at
/// these moments: before detect's restore (``takeOver(_:clean:)``,
/// ``place(_:replacing:from:)``, ``clear(_:)``), after each buildpack's
/// compile (``takeReleaseOutput(to:)``) and after save (``keep(in:without:)``).
struct CacheDirectory: Sendable {
    let url: URL

    /// Before restore: the app's CACHE_DIR of its last build on this worker,
    /// moved in whole, since buildpacks without a cache rule expect to find
    /// what they left there. A clean build removes it first.
    func takeOver(_ stored: URL, clean: Bool) throws {
        // The app's last CACHE_DIR holds what its build left, links included: removed without following them.
        if clean { try ConfinedDirectory.removeTree(stored) }
        var info = stat() // farm-owned: the worker's scratch
        if lstat(stored.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { // farm-owned: the worker's scratch
            try ConfinedDirectory.removeTree(url)
            guard rename(stored.path, url.path) == 0 else { // farm-owned: both the worker's; the tree moves whole
                throw BuildFailure("cannot restore CACHE_DIR from \(stored.path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// After save: kept at `stored` for the app's next build on this worker,
    /// without the dependency directories of `plans`: those live in the
    /// content-addressed store, and a stale copy must not pass for a restore.
    func keep(in stored: URL, without plans: [CachePlan]) throws {
        for plan in plans { try? clear(plan.directories) }
        try FileManager.default.createDirectory(at: stored.deletingLastPathComponent(), withIntermediateDirectories: true) // farm-owned: the worker's scratch
        try ConfinedDirectory.removeTree(stored)
        guard rename(url.path, stored.path) == 0 else { // farm-owned: both the worker's; the tree moves whole
            throw BuildFailure("cannot keep CACHE_DIR in \(stored.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes `directories`: a half-done restore, or stale copies a builder
    /// must not take for restored ones. A link on the way is removed, never followed.
    func clear(_ directories: [String]) throws {
        let directory = try ConfinedDirectory(url, label: "CACHE_DIR")
        for path in directories { try directory.remove(path) }
    }

    /// Restore: the tree `manifest` of `store` hard-linked in place of `directories`.
    func place(_ manifest: String, replacing directories: [String], from store: CacheStore) throws -> CacheStore.Restored {
        try clear(directories)
        return try store.restore(manifest, into: url)
    }

    /// After a buildpack's compile: the release tarball it left in
    /// CACHE_DIR/out, moved to `destination` so that it is not kept as cache
    /// (and `out/` removed); `nil` when it left none.
    func takeReleaseOutput(to destination: URL) throws -> ReleaseOutput? {
        try HostileInput.beneath(url, label: "CACHE_DIR") { cache in
            guard let left = try ReleaseOutput.find(in: cache), let out = try cache.directory("out", links: .none) else { return nil }
            try ConfinedDirectory.removeTree(destination)
            try out.move(left.name, to: destination.path)
            try cache.remove("out")
            return ReleaseOutput(release: left.release, version: left.version, file: destination)
        }
    }
}
