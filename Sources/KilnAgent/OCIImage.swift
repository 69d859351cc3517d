import Foundation

/// The one image of an OCI layout the agent pulled (skopeo's `oci:` transport):
/// its manifest's digest and what its config says about starting it.
struct OCIImage: Sendable {
    var manifestDigest: String
    var entrypoint: [String]
    var cmd: [String]
    var environment: [String]
    var workingDirectory: String

    /// Reads `index.json`, the manifest it names and that manifest's config. Throws naming what is missing.
    init(layout: URL) throws {
        func object(_ url: URL) throws -> [String: Any] {
            guard let data = try? Data(contentsOf: url), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw AgentError("the pulled image's \(url.lastPathComponent) is not a JSON object")
            }
            return json
        }
        func blob(_ digest: String) throws -> URL {
            guard digest.hasPrefix("sha256:"), digest.dropFirst(7).allSatisfy({ $0.isHexDigit }) else {
                throw AgentError("the pulled image names blob \(digest.debugDescription), which is not a sha256 digest")
            }
            return layout.appendingPathComponent("blobs/sha256/\(digest.dropFirst(7))")
        }
        let index = try object(layout.appendingPathComponent("index.json"))
        guard let digest = (index["manifests"] as? [[String: Any]])?.first?["digest"] as? String else {
            throw AgentError("the pulled image's layout names no manifest")
        }
        let manifest = try object(try blob(digest))
        guard let configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String else {
            throw AgentError("the pulled image's manifest names no config")
        }
        let config = try object(try blob(configDigest))["config"] as? [String: Any] ?? [:]
        manifestDigest = digest
        entrypoint = config["Entrypoint"] as? [String] ?? []
        cmd = config["Cmd"] as? [String] ?? []
        environment = config["Env"] as? [String] ?? []
        workingDirectory = config["WorkingDir"] as? String ?? "/"
    }
}
