import Foundation
import KilnSandbox

/// One app's buildah storage on a worker (vfs driver): the layers of its
/// Dockerfile builds, which its next builds reuse. buildah runs rootless as
/// the build user: a Dockerfile's `RUN` is root only in a user namespace
/// mapped onto that user's subordinate ids (/etc/subuid).
///
/// Each app has a store of its own, so that one app's build never sees
/// another's layers or cache mounts. The directories above the stores are
/// root's (0711) and every directory handed to the build user is checked
/// to be a directory, not a link, before it is: root never follows a link
/// the build user could have planted.
public struct BuildahStore: Sendable {
    /// `HOME/cache/images`.
    public var root: URL
    public var app: String
    public var user: SandboxUser

    public init(root: URL, app: String, user: SandboxUser) {
        self.root = root
        self.app = app
        self.user = user
    }

    var directory: URL { root.appendingPathComponent("apps/\(app)") }
    var storage: URL { directory.appendingPathComponent("storage") }
    var runRoot: URL { directory.appendingPathComponent("run") }
    var home: URL { directory.appendingPathComponent("home") }
    var temporary: URL { directory.appendingPathComponent("tmp") }

    /// One build's files: the registry credentials buildah reads and the digest it writes.
    struct Session: Sendable {
        var directory: URL
        var authFile: URL?
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    /// Makes the store's directories and a session for one build, with a
    /// copy of the registry's credentials only the build user reads.
    func open(registry: RegistrySettings) throws -> Session {
        try Self.checkSubordinateIDs(of: user)
        for path in [root, root.appendingPathComponent("apps"), directory, root.appendingPathComponent("builds")] {
            try Self.directory(path, owner: nil)
        }
        for path in [storage, runRoot, home, temporary] { try Self.directory(path, owner: user) }
        let session = root.appendingPathComponent("builds/\(app)-\(UUID().uuidString.prefix(12))")
        guard mkdir(session.path, 0o700) == 0 else { throw ImageError("cannot create \(session.path): \(String(cString: strerror(errno)))") }
        guard lchown(session.path, user.uid, user.gid) == 0 else { throw ImageError("cannot give \(session.path) to the build user") }
        var authFile: URL?
        if let source = registry.authFile {
            let file = session.appendingPathComponent("auth.json")
            try Self.writePrivate(try Data(contentsOf: source), to: file, owner: user)
            authFile = file
        }
        return Session(directory: session, authFile: authFile)
    }

    /// Creates `path` if missing; it must be a real directory. `owner` nil: root's, 0711.
    static func directory(_ path: URL, owner: SandboxUser?) throws {
        if mkdir(path.path, owner == nil ? 0o711 : 0o700) != 0, errno != EEXIST {
            throw ImageError("cannot create \(path.path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(path.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ImageError("\(path.path) is not a directory (a link?): remove it; the worker recreates it")
        }
        let uid = owner?.uid ?? getuid(), gid = owner?.gid ?? getgid()
        // A real directory (checked above) in a directory of root's: nothing can swap it for a link now.
        guard lchown(path.path, uid, gid) == 0, chmod(path.path, owner == nil ? 0o711 : 0o700) == 0 else {
            throw ImageError("cannot set the owner of \(path.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a new file (never through a link), readable by `owner` only.
    static func writePrivate(_ data: Data, to file: URL, owner: SandboxUser) throws {
        let descriptor = Foundation.open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ImageError("cannot create \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, fchown(descriptor, owner.uid, owner.gid) == 0 else {
            throw ImageError("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Rootless buildah maps a build's root onto the user's subordinate ids:
    /// without them every `RUN` fails with a message about newuidmap.
    static func checkSubordinateIDs(of user: SandboxUser) throws {
        let name = getpwuid(user.uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "\(user.uid)"
        for file in ["/etc/subuid", "/etc/subgid"] {
            let lines = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n")
            guard lines.contains(where: { $0.hasPrefix("\(name):") || $0.hasPrefix("\(user.uid):") }) else {
                throw ImageError("the build user \(name) has no subordinate ids in \(file), which rootless buildah needs: run `usermod --add-subuids 200000-265535 --add-subgids 200000-265535 \(name)` on this worker (scripts/setup.sh does)")
            }
        }
    }

    /// The options every buildah command takes first.
    var globalArguments: [String] {
        ["--storage-driver", "vfs", "--root", storage.path, "--runroot", runRoot.path]
    }

    /// buildah's environment: nothing of the worker's.
    var environment: [String: String] {
        [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": home.path, "XDG_RUNTIME_DIR": runRoot.path, "TMPDIR": temporary.path,
            "BUILDAH_ISOLATION": "oci", "STORAGE_DRIVER": "vfs", "LANG": "C.UTF-8",
        ]
    }
}
