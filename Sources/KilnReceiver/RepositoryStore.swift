import Foundation
import KilnProcess

/// The bare git repositories of the apps, one per app under `ROOT/NAME.git`,
/// each with Kiln's pre-receive hook installed.
public struct RepositoryStore: Sendable {
    public let root: URL
    /// Most bytes one push may send (git's `receive.maxInputSize`): a larger pack is refused before it is stored.
    public static let maxPushBytes = 1 << 30

    public init(root: URL) {
        self.root = root
    }

    /// The repository of `app` (which may not exist yet).
    public func path(for app: String) -> URL {
        root.appendingPathComponent("\(app).git")
    }

    /// Creates the repository of `app` if needed and (re)installs the hook;
    /// idempotent. Returns its path.
    @discardableResult
    public func prepare(app: String, deployBranch: String) async throws -> URL {
        let path = path(for: app)
        if !FileManager.default.fileExists(atPath: path.appendingPathComponent("HEAD").path) {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try await Command("git", ["init", "--bare", "--quiet", path.path]).check()
            try await Command("git", ["-C", path.path, "config", "http.receivepack", "true"]).check()
            // Pushes are built from the pushed tree; nothing needs a reflog or auto-gc during a push.
            try await Command("git", ["-C", path.path, "config", "gc.auto", "0"]).check()
        }
        // A push is a stranger's pack: its size is capped, and every object is
        // checked (malformed trees, paths such as `.git/` or `..`) before the hook runs.
        for (name, value) in [("receive.maxInputSize", "\(Self.maxPushBytes)"), ("receive.fsckObjects", "true"),
                              ("receive.fsck.badTimezone", "warn"), ("core.hooksPath", path.appendingPathComponent("hooks").path),
                              // `git push -o kiln-clean`: the hook reads push options (over SSH, where no HTTP header exists, and over HTTP too).
                              ("receive.advertisePushOptions", "true")] {
            try await Command("git", ["-C", path.path, "config", name, value]).check()
        }
        // Clones check out the deploy branch.
        try await Command("git", ["-C", path.path, "symbolic-ref", "HEAD", "refs/heads/\(deployBranch)"]).check()
        let hook = path.appendingPathComponent("hooks/pre-receive")
        let script = "#!/bin/sh\n# Installed by Kiln: builds a push of the deploy branch and streams its log.\nexec \"$KILN_EXECUTABLE\" hook pre-receive\n"
        if (try? String(contentsOf: hook, encoding: .utf8)) != script {
            try FileManager.default.createDirectory(at: hook.deletingLastPathComponent(), withIntermediateDirectories: true)
            try script.write(to: hook, atomically: true, encoding: .utf8)
            chmod(hook.path, 0o755)
        }
        return path
    }

    /// Removes the repository of `app` (its deletion); returns whether there
    /// was one. It is renamed out of the way first, so that a push or clone
    /// arriving meanwhile finds no half-removed repository; a push after that
    /// is refused before ``prepare(app:deployBranch:)`` would make it anew,
    /// since the app no longer exists.
    @discardableResult
    public func remove(app: String) throws -> Bool {
        let path = path(for: app)
        guard FileManager.default.fileExists(atPath: path.path) else { return false }
        let doomed = root.appendingPathComponent(".\(app).git.deleted-\(UUID().uuidString.prefix(8))")
        guard rename(path.path, doomed.path) == 0 else {
            throw ReceiverError("cannot remove \(path.path): \(String(cString: strerror(errno))); remove it by hand")
        }
        // The tree holds git's objects and Kiln's hook only; removeItem removes links, never follows them.
        try FileManager.default.removeItem(at: doomed)
        return true
    }
}
