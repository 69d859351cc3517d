import Foundation
import KilnProcess

/// A real OCI registry for tests: Debian's `docker-registry` (distribution
/// 2.8) on loopback, over plain HTTP, storing in a temporary directory.
/// Docker Hub is out of reach, so base images are built here from files on
/// the machine (``pushBusyboxBase(as:)``).
public struct ImageRegistry: Sendable {
    /// `127.0.0.1:PORT`.
    public let host: String
    public let storage: URL

    /// Runs `body` with a fresh registry; read-only, it serves what `storage` holds and refuses every push.
    public static func with<T: Sendable>(storage: URL? = nil, readOnly: Bool = false,
                                         _ body: @escaping @Sendable (ImageRegistry) async throws -> T) async throws -> T {
        let port = try KilnFarm.freePort()
        let storage = try storage ?? TestEnvironment.temporaryDirectory("registry")
        let config = try TestEnvironment.temporaryDirectory("registry-config").appendingPathComponent("config.yml")
        try """
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: \(storage.path)
              maintenance:
                readonly:
                  enabled: \(readOnly)
            http:
              addr: 127.0.0.1:\(port)
            """.write(to: config, atomically: true, encoding: .utf8)
        let registry = ImageRegistry(host: "127.0.0.1:\(port)", storage: storage)
        return try await withRunning([Command("docker-registry", ["serve", config.path])]) {
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await sh("curl", ["-sf", "-o", "/dev/null", "http://\(registry.host)/v2/"]))?.succeeded == true
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard ready else { throw TestSetupError("docker-registry did not start on \(registry.host)") }
            return try await body(registry)
        }
    }

    /// Builds a small base image from the machine's static busybox (a shell,
    /// httpd, coreutils) with buildah, pushes it as `HOST/NAME`, returns that reference.
    @discardableResult
    public func pushBusyboxBase(as name: String = "base/busybox:1") async throws -> String {
        let reference = "\(host)/\(name)"
        let work = try TestEnvironment.temporaryDirectory("base-image")
        let applets = ["sh", "httpd", "ls", "cat", "echo", "env", "mkdir", "sleep", "wget", "printf", "id", "true", "false", "test", "rm", "cp", "head", "dd"]
        let script = """
            set -e
            store="--storage-driver vfs --root \(work.path)/storage --runroot \(work.path)/run"
            c=$(buildah $store from scratch)
            m=$(buildah $store mount "$c")
            mkdir -p "$m/bin" "$m/tmp" "$m/etc" "$m/srv" "$m/proc" "$m/dev"
            cp /bin/busybox "$m/bin/busybox"
            for a in \(applets.joined(separator: " ")); do ln -s busybox "$m/bin/$a"; done
            echo 'root:x:0:0:root:/root:/bin/sh' > "$m/etc/passwd"
            buildah $store config --env PATH=/bin --label dev.kiln.test=base "$c"
            buildah $store commit --quiet --timestamp 0 "$c" "\(reference)" >/dev/null
            buildah $store push --quiet --tls-verify=false "\(reference)" "docker://\(reference)"
            """
        let outcome = try await sh("sh", ["-c", script])
        guard outcome.succeeded else { throw TestSetupError("cannot build the busybox base image: \(outcome.output)") }
        return reference
    }

    /// `skopeo inspect` of an image (its config, labels, digest), as JSON.
    public func inspect(_ image: String, config: Bool = false) async throws -> [String: Any] {
        let outcome = try await sh("skopeo", ["inspect", "--tls-verify=false"] + (config ? ["--config"] : []) + ["docker://\(image)"])
        guard outcome.succeeded, let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any] else {
            throw TestSetupError("skopeo cannot inspect \(image): \(outcome.output)")
        }
        return json
    }

    /// The image's manifest, as the registry serves it.
    public func manifest(_ image: String) async throws -> [String: Any] {
        let outcome = try await sh("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(image)"])
        guard outcome.succeeded, let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any] else {
            throw TestSetupError("skopeo cannot read the manifest of \(image): \(outcome.output)")
        }
        return json
    }

    /// The tags of `repository` (`PREFIX/APP`), from the registry's API.
    public func tags(_ repository: String) async throws -> [String] {
        let outcome = try await sh("curl", ["-sf", "http://\(host)/v2/\(repository)/tags/list"])
        guard outcome.succeeded else { return [] }
        let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any]
        return json?["tags"] as? [String] ?? []
    }
}
