import Crypto
import Foundation
import KilnConfine
import KilnProcess

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
            let data = try Self.read(url, cap: Self.maxJSON)
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
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

    /// The largest index, manifest or config read (4 MiB).
    static let maxJSON = 4 << 20

    /// The file's bytes, refused when over `cap` (read no further than one byte past it).
    static func read(_ url: URL, cap: Int) throws -> Data {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw AgentError("the pulled image's \(url.lastPathComponent) cannot be read")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: cap + 1)) ?? nil
        guard let data else { throw AgentError("the pulled image's \(url.lastPathComponent) cannot be read") }
        guard data.count <= cap else { throw AgentError("the pulled image's \(url.lastPathComponent) is larger than \(cap) bytes") }
        return data
    }

    /// Fetches the image's manifest from its registry before anything is
    /// copied: its SHA-256 must be the signed `sha256`, and the sizes it
    /// declares (config and layers) must add up to at most `maxBytes`.
    static func checkRemoteManifest(_ reference: String, sha256: String, maxBytes: Int64, insecure: Bool, timeout: String) async throws {
        let tls = insecure ? ["--tls-verify=false"] : []
        let inspected = try await Command("skopeo", ["--command-timeout", timeout, "inspect", "--raw"] + tls + ["docker://\(reference)"])
            .capture(limit: maxJSON)
        guard inspected.status == 0 else {
            throw AgentError("the image \(reference) cannot be pulled: \(inspected.error.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        let raw = Data(inspected.output)
        let digest = SHA256.hash(data: raw).map { String(format: "%02x", $0) }.joined()
        guard digest == sha256 else {
            throw AgentError("the image's manifest digest is sha256:\(digest), the signed manifest says sha256:\(sha256)")
        }
        guard let manifest = try? JSONSerialization.jsonObject(with: raw) as? [String: Any], let layers = manifest["layers"] as? [[String: Any]] else {
            throw AgentError("the image \(reference) is not an image manifest with layers (an index is not deployed: name one platform's image)")
        }
        var total: Int64 = 0
        for descriptor in layers + [manifest["config"] as? [String: Any] ?? [:]] {
            guard let size = (descriptor["size"] as? NSNumber)?.int64Value, size >= 0 else {
                throw AgentError("the image \(reference)'s manifest declares a blob without a size")
            }
            total = total.addingReportingOverflow(size).overflow ? .max : total + size
        }
        guard total <= maxBytes else {
            throw AgentError("the image is \(total) bytes by its manifest, larger than the agent's limit of \(maxBytes) bytes (--max-image-size)")
        }
    }

    /// Removes from an unpacked root what an image may not bring onto the
    /// host: setuid and setgid bits (cleared), device nodes, fifos and sockets
    /// (removed). Nothing of the image has run yet, so nothing races the walk,
    /// which follows no link and enters only real directories.
    static func sanitize(rootfs: URL) throws {
        let root = try ConfinedDirectory(path: rootfs.path, label: "the image's root")
        try root.walk { relative, entry, holder in
            switch entry.kind {
            case .device, .fifo, .socket:
                try holder.remove(entry.name)
            case .regular, .directory:
                let setID: mode_t = 0o6000
                guard entry.mode & setID != 0 else { break }
                // By the holder's descriptor and the entry's name (a real file or directory, not a link, as listed).
                guard fchmodat(holder.descriptor, entry.name, entry.mode & ~setID & 0o7777, 0) == 0 else {
                    throw AgentError("cannot clear the setuid/setgid bits of \(relative) in the image: \(String(cString: strerror(errno)))")
                }
            default:
                break
            }
        }
    }
}
