import Foundation
import KilnSandbox

/// A worker's buildah storage (vfs driver): the layers of every Dockerfile
/// build it ran, which its next builds reuse. Owned by the build user, who
/// runs buildah rootless: a Dockerfile's `RUN` is root only in a user
/// namespace mapped onto that user's subordinate ids (/etc/subuid).
public struct BuildahStore: Sendable {
    public var directory: URL
    public var user: SandboxUser?

    public init(directory: URL, user: SandboxUser?) {
        self.directory = directory
        self.user = user
    }

    var root: URL { directory.appendingPathComponent("storage") }
    var runRoot: URL { directory.appendingPathComponent("run") }
    var home: URL { directory.appendingPathComponent("home") }
    var temporary: URL { directory.appendingPathComponent("tmp") }
    /// The registry credentials, copied where the build user can read them.
    var authFile: URL { home.appendingPathComponent("auth.json") }

    /// Creates the directories and gives them to the build user.
    func prepare(registry: RegistrySettings) throws {
        if let user { try Self.checkSubordinateIDs(of: user) }
        for path in [root, runRoot, home, temporary] {
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            chmod(path.path, 0o700)
        }
        if let source = registry.authFile {
            let data = try Data(contentsOf: source)
            try data.write(to: authFile, options: .atomic)
            chmod(authFile.path, 0o600)
        }
        if let user {
            for path in [directory, root, runRoot, home, temporary] { chown(path.path, user.uid, user.gid) }
            if registry.authFile != nil { chown(authFile.path, user.uid, user.gid) }
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
        ["--storage-driver", "vfs", "--root", root.path, "--runroot", runRoot.path]
    }

    var environment: [String: String] {
        [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": home.path, "XDG_RUNTIME_DIR": runRoot.path, "TMPDIR": temporary.path,
            "BUILDAH_ISOLATION": "oci", "STORAGE_DRIVER": "vfs", "LANG": "C.UTF-8",
        ]
    }

    /// The registry's options as buildah takes them, with the copied credentials.
    func registryOptions(_ registry: RegistrySettings) -> [String] {
        ["--tls-verify=\(!registry.insecure)"] + (registry.authFile != nil ? ["--authfile", authFile.path] : [])
    }
}
