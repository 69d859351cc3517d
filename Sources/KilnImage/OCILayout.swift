import Foundation

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`),
/// which skopeo reads and writes (`oci:DIR:TAG`).
struct OCILayout: Sendable {
    let directory: URL

    static let manifestType = "application/vnd.oci.image.manifest.v1+json"
    static let configType = "application/vnd.oci.image.config.v1+json"
    static let gzipLayerType = "application/vnd.oci.image.layer.v1.tar+gzip"

    /// A blob as a descriptor names it.
    struct Descriptor: Sendable {
        var mediaType: String
        var digest: String
        var size: Int64
        var json: [String: Any] { ["mediaType": mediaType, "digest": digest, "size": size] }
    }

    func blob(_ digest: String) -> URL {
        directory.appendingPathComponent("blobs/sha256/\(digest.replacingOccurrences(of: "sha256:", with: ""))")
    }

    /// The manifest that `index.json` names for `tag` (the first one without a tag).
    func manifest(tag: String) throws -> (Data, [String: Any]) {
        let index = try Self.object(Data(contentsOf: directory.appendingPathComponent("index.json")))
        let entries = index["manifests"] as? [[String: Any]] ?? []
        let entry = entries.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag } ?? entries.first
        guard let digest = entry?["digest"] as? String else { throw ImageError("the image layout at \(directory.path) names no manifest") }
        let data = try Data(contentsOf: blob(digest))
        return (data, try Self.object(data))
    }

    /// Stores `data` as a blob; returns its descriptor.
    func write(_ data: Data, mediaType: String) throws -> Descriptor {
        let digest = OCIDigest.of(data)
        try FileManager.default.createDirectory(at: blob(digest).deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: blob(digest))
        return Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
    }

    /// Makes `manifest` the one `index.json` names as `tag`.
    func tag(_ manifest: Descriptor, as tag: String) throws {
        var entry = manifest.json
        entry["annotations"] = ["org.opencontainers.image.ref.name": tag]
        let index: [String: Any] = ["schemaVersion": 2, "manifests": [entry]]
        try Self.encode(index).write(to: directory.appendingPathComponent("index.json"))
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: directory.appendingPathComponent("oci-layout"))
    }

    /// JSON with sorted keys and no escaped slashes: the same value always gives the same bytes.
    static func encode(_ value: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw ImageError("an image document is not a JSON object") }
        return object
    }
}
