import Foundation
import KilnSlug

/// The JSON body of a release hand-off (docs/slug-protocol.md, "The release
/// hand-off"), as far as the agent uses it. Nothing in it is trusted until its
/// `X-Kiln-Signature` and the farm's signature over `manifest` are checked.
struct Handoff: Decodable, Sendable {
    struct Slug: Decodable, Sendable {
        var sha256: String
        var size: Int64?
        var url: String
    }

    struct Image: Decodable, Sendable {
        var reference: String
        var ports: [Int]?
    }

    struct Config: Decodable, Sendable {
        var version: Int
        var url: String
    }

    var app: String
    var version: Int
    var description: String?
    var slug: Slug?
    var image: Image?
    /// Base64 of manifest.json's exact bytes.
    var manifest: String
    /// Base64 of the 64-byte Ed25519 signature over them.
    var manifestSignature: String
    var hot: SlugUpgrade?
    /// Absent before the farm hands off config: no config vars then.
    var config: Config?
    /// Absent before the farm takes deploy statuses: nothing is reported then.
    var statusURL: String?

    enum CodingKeys: String, CodingKey {
        case app, version, description, slug, image, manifest, hot, config
        case manifestSignature = "manifest_signature"
        case statusURL = "status_url"
    }

    /// Whether `name` can be an app's directory: Kiln's app names (lowercase letters, digits, dashes).
    static func isAppName(_ name: String) -> Bool {
        name.count <= 63 && name.unicodeScalars.first.map { ("a"..."z").contains($0) } == true
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}
