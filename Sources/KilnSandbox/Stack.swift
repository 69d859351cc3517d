import Foundation

/// The system a build runs on: the root file system the sandbox shows
/// (its `/usr`, `/etc`, `/bin`, `/lib`, `/var`), the Heroku stack name it
/// stands in for (many public buildpacks accept only `heroku-22` or
/// `heroku-24` in `STACK`), and the image slugs built on it run on.
///
/// ``host`` is the worker host's own system, as every build had before
/// stacks: the farm of one machine. Any other stack is a directory made by
/// `scripts/stack` and read by ``StackDirectory`` (docs/operations.md,
/// "Stacks"); its root is the farm's, owned by root and mounted read-only,
/// and nothing of the host's `/usr` or `/etc` reaches a build on it.
public struct Stack: Sendable, Equatable, CustomStringConvertible {
    /// The stack's own name (its directory's), recorded in the slug's manifest.
    public var name: String
    /// The Heroku stack it stands in for: what buildpacks see in `STACK`.
    public var heroku: String
    /// The root file system; `nil` for the host's own.
    public var root: URL?
    /// The image slugs built on this stack run on (`run-image` in `stack.conf`), when declared.
    public var runImage: String?
    /// When the stack was made (`made` in `stack.conf`): a stack made again
    /// under the same name is another system, and dependency caches keyed
    /// by it start again.
    public var made: String?

    public init(name: String, heroku: String, root: URL?, runImage: String? = nil, made: String? = nil) {
        self.name = name
        self.heroku = heroku
        self.root = root
        self.runImage = runImage
        self.made = made
    }

    /// The worker host's own system, declared as `heroku-22` as builds always were.
    public static let host = Stack(name: hostName, heroku: "heroku-22", root: nil)

    /// The name of ``host``, which no stack directory may take.
    public static let hostName = "host"

    public var description: String { root == nil ? "\(name) (the worker's own system, STACK=\(heroku))" : "\(name) (STACK=\(heroku))" }

    /// Whether `name` may name a stack: lowercase letters, digits, dots and
    /// dashes, starting with a letter or digit, at most 63 characters. It
    /// becomes a directory name and reaches the database and the manifest.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63, first != 46, first != 45 else { return false }
        return name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 46 }
    }

    /// The top-level directories of a stack's root a build sees, read-only.
    /// The rest of the sandbox's root (`/tmp`, `/proc`, `/dev`, the build's
    /// own directories) is made by the sandbox, never taken from the stack.
    static let systemDirectories = ["usr", "etc", "var", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32"]

    /// bubblewrap's arguments that lay the system's directories out in the
    /// sandbox's root: the host's `/usr`, `/etc` and top-level links for
    /// ``host``; the stack root's own otherwise, with the host's resolver
    /// configuration over the stack's when the build has the network.
    func mountArguments(network: Bool) -> [String] {
        guard let root else { return Self.hostMountArguments(network: network) }
        var line: [String] = []
        for top in Self.systemDirectories {
            let path = root.appendingPathComponent(top).path
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                // Merged /usr: bin -> usr/bin, made inside as the same link.
                line += ["--symlink", target, "/" + top]
            } else if FileManager.default.fileExists(atPath: path) {
                line += ["--ro-bind", path, "/" + top]
            }
        }
        if network {
            // The stack's own resolv.conf (an empty file scripts/stack leaves) is
            // the mount point; the host's, wherever its link leads, is bound on it.
            let resolver = URL(fileURLWithPath: "/etc/resolv.conf").resolvingSymlinksInPath().path
            line += ["--ro-bind-try", resolver, "/etc/resolv.conf"]
        }
        return line
    }

    static func hostMountArguments(network: Bool) -> [String] {
        var line = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for top in ["bin", "lib", "lib32", "lib64", "libx32", "sbin"] {
            let path = "/" + top
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                line += ["--symlink", target, path]
            } else if FileManager.default.fileExists(atPath: path) {
                line += ["--ro-bind", path, path]
            }
        }
        // resolv.conf is often a link into /run; name resolution needs its target.
        if network { line += ["--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve"] }
        return line
    }
}
