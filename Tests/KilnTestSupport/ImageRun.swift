import Foundation
import KilnProcess
import KilnSandbox

/// Runs an image from a registry as a container runtime would, without one:
/// skopeo copies it into an OCI layout, umoci unpacks its root file system,
/// and its command (or `command`) starts under bubblewrap with that root
/// as `/`, as the unprivileged build user, its config's environment and
/// working directory, and PORT set. Stands in for the platform's runtime,
/// which is not part of Kiln.
public enum ImageRun {
    public struct Serving: Sendable {
        public var port: Int
        public var body: String
        /// The unpacked root file system.
        public var rootfs: URL
    }

    /// Starts `image` (its ENTRYPOINT + CMD, or `command` through `/bin/sh -c`),
    /// waits until `path` answers on $PORT, runs `body`, then stops it.
    public static func serving<T: Sendable>(_ image: String, command: String? = nil, path: String = "/", patience: Duration = .seconds(180),
                                            _ body: @escaping @Sendable (Serving) async throws -> T) async throws -> T {
        let work = try TestEnvironment.temporaryDirectory("image-run")
        let layout = work.appendingPathComponent("layout"), rootfs = work.appendingPathComponent("rootfs")
        try await Command("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(image)", "oci:\(layout.path):run"]).check()
        try await Command("umoci", ["raw", "unpack", "--image", "\(layout.path):run", rootfs.path]).check()
        let config = try imageConfig(layout: layout)
        let argv = command.map { ["/bin/sh", "-c", $0] } ?? ((config["Entrypoint"] as? [String] ?? []) + (config["Cmd"] as? [String] ?? []))
        guard !argv.isEmpty else { throw TestSetupError("\(image) has no command to run") }
        let port = try KilnFarm.freePort()
        var line: [String] = []
        if getuid() == 0 {
            let user = try SandboxUser.named("kiln-build")
            line += ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--"]
        }
        line += ["/usr/bin/bwrap", "--unshare-all", "--share-net", "--die-with-parent", "--ro-bind", rootfs.path, "/",
                 "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", config["WorkingDir"] as? String ?? "/", "--clearenv"]
        for variable in (config["Env"] as? [String] ?? []) + ["PORT=\(port)"] {
            let parts = variable.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { line += ["--setenv", parts[0], parts[1]] }
        }
        line += ["--"] + argv
        var process = Command(line[0], Array(line.dropFirst()))
        process.ownProcessGroup = true
        return try await withRunning([process]) {
            let deadline = ContinuousClock.now + patience
            while ContinuousClock.now < deadline {
                let response = try await Command("curl", ["-sf", "-m", "5", "http://127.0.0.1:\(port)\(path)"]).run()
                if response.succeeded { return try await body(Serving(port: port, body: response.output, rootfs: rootfs)) }
                try await Task.sleep(for: .milliseconds(250))
            }
            throw TestSetupError("\(argv.joined(separator: " ")) of \(image) did not answer on port \(port) within \(patience)")
        }
    }

    /// The `config` object of the image config the layout's one manifest names.
    static func imageConfig(layout: URL) throws -> [String: Any] {
        func object(_ url: URL) throws -> [String: Any] {
            guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else { throw TestSetupError("\(url.path) is not JSON") }
            return json
        }
        func blob(_ digest: String) -> URL { layout.appendingPathComponent("blobs/sha256/\(digest.dropFirst(7))") }
        let index = try object(layout.appendingPathComponent("index.json"))
        guard let manifestDigest = (index["manifests"] as? [[String: Any]])?.first?["digest"] as? String,
              let configDigest = (try object(blob(manifestDigest))["config"] as? [String: Any])?["digest"] as? String else {
            throw TestSetupError("the image layout has no manifest or config")
        }
        return try object(blob(configDigest))["config"] as? [String: Any] ?? [:]
    }
}
