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
    /// The user and password it requires (htpasswd, bcrypt), when it requires one.
    public var credentials: (user: String, password: String)?

    /// Runs `body` with a fresh registry; read-only, it serves what `storage` holds and refuses every push;
    /// with `credentials`, it answers only requests that present them.
    public static func with<T: Sendable>(storage: URL? = nil, readOnly: Bool = false, credentials: (user: String, password: String)? = nil,
                                         _ body: @escaping @Sendable (ImageRegistry) async throws -> T) async throws -> T {
        let port = try KilnFarm.freePort()
        let storage = try storage ?? TestEnvironment.temporaryDirectory("registry")
        let configDirectory = try TestEnvironment.temporaryDirectory("registry-config")
        let config = configDirectory.appendingPathComponent("config.yml")
        var auth = ""
        if let credentials {
            let hash = try await sh("python3", ["-W", "ignore", "-c", "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", credentials.password])
            guard hash.succeeded else { throw TestSetupError("cannot hash the registry password: \(hash.output)") }
            let file = configDirectory.appendingPathComponent("htpasswd")
            try "\(credentials.user):\(hash.output.trimmingCharacters(in: .whitespacesAndNewlines))\n".write(to: file, atomically: true, encoding: .utf8)
            auth = "auth:\n  htpasswd:\n    realm: kiln-test\n    path: \(file.path)\n"
        }
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
            \(auth)
            """.write(to: config, atomically: true, encoding: .utf8)
        let registry = ImageRegistry(host: "127.0.0.1:\(port)", storage: storage, credentials: credentials)
        return try await withRunning([Command("docker-registry", ["serve", config.path])]) {
            var ready = false
            for _ in 0..<100 where !ready {
                // Any answer will do: a registry with credentials answers 401.
                let status = (try? await sh("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://\(registry.host)/v2/"]))?.output ?? ""
                ready = status == "200" || status == "401"
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard ready else { throw TestSetupError("docker-registry did not start on \(registry.host)") }
            return try await body(registry)
        }
    }

    /// Builds a small base image from the machine's static busybox (a shell,
    /// httpd, coreutils) with buildah, pushes it as `HOST/NAME` (an OCI
    /// image, or `docker` for Docker's schema 2, as `docker push` makes them),
    /// returns that reference. `config` adds options of `buildah config`
    /// (`--entrypoint`, `--cmd`, `--port`), for an image that starts by itself.
    @discardableResult
    public func pushBusyboxBase(as name: String = "base/busybox:1", format: String = "oci", config: [String] = []) async throws -> String {
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
            buildah $store config --env PATH=/bin --label dev.kiln.test=base \(config.map(Self.shellQuoted).joined(separator: " ")) "$c"
            buildah $store commit --quiet --format \(format) --timestamp 0 "$c" "\(reference)" >/dev/null
            buildah $store push --quiet --tls-verify=false \(credentials.map { "--creds '\($0.user):\($0.password)'" } ?? "") "\(reference)" "docker://\(reference)"
            """
        let outcome = try await sh("sh", ["-c", script])
        guard outcome.succeeded else { throw TestSetupError("cannot build the busybox base image: \(outcome.output)") }
        return reference
    }

    static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `skopeo inspect` of an image (its config, labels, digest), as JSON.
    public func inspect(_ image: String, config: Bool = false) async throws -> [String: Any] {
        let outcome = try await sh("skopeo", ["inspect", "--tls-verify=false"] + credentialOptions + (config ? ["--config"] : []) + ["docker://\(image)"])
        guard outcome.succeeded, let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any] else {
            throw TestSetupError("skopeo cannot inspect \(image): \(outcome.output)")
        }
        return json
    }

    /// The image's manifest, as the registry serves it.
    public func manifest(_ image: String) async throws -> [String: Any] {
        let outcome = try await sh("skopeo", ["inspect", "--raw", "--tls-verify=false"] + credentialOptions + ["docker://\(image)"])
        guard outcome.succeeded, let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any] else {
            throw TestSetupError("skopeo cannot read the manifest of \(image): \(outcome.output)")
        }
        return json
    }

    var credentialOptions: [String] {
        credentials.map { ["--creds", "\($0.user):\($0.password)"] } ?? []
    }

    /// A containers-auth.json file holding `password` (right or wrong) for this registry.
    public func authFile(password: String? = nil) throws -> URL {
        let user = credentials?.user ?? "kiln"
        let token = Data("\(user):\(password ?? credentials?.password ?? "")".utf8).base64EncodedString()
        let file = try TestEnvironment.temporaryDirectory("registry-auth").appendingPathComponent("auth.json")
        try #"{"auths":{"\#(host)":{"auth":"\#(token)"}}}"#.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The tags of `repository` (`PREFIX/APP`), from the registry's API.
    public func tags(_ repository: String) async throws -> [String] {
        let outcome = try await sh("curl", ["-sf", "http://\(host)/v2/\(repository)/tags/list"])
        guard outcome.succeeded else { return [] }
        let json = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any]
        return json?["tags"] as? [String] ?? []
    }
}
