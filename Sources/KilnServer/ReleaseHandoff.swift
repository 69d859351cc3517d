import Foundation
import KilnSlug

/// The JSON a release webhook receives for each release (docs/slug-protocol.md).
struct ReleaseHandoff: Encodable {
    struct Slug: Encodable {
        var sha256: String
        var size: Int64
        /// A signed URL of the slug, fresh for each delivery attempt.
        var url: String
        var urlExpiresAt: Date
        enum CodingKeys: String, CodingKey {
            case sha256, size, url
            case urlExpiresAt = "url_expires_at"
        }
    }

    /// The build's OCI image, by digest.
    struct Image: Encodable {
        /// `REGISTRY/PREFIX/APP@sha256:…`: never a tag, which could move.
        var reference: String
        /// The ports the image EXPOSEs.
        var ports: [Int]
    }

    /// The release's config: its version and a signed URL of its vars (never the vars themselves).
    struct Config: Encodable {
        var version: Int
        /// `PUBLIC_URL/api/apps/APP/config/versions/N?expires=…&signature=…`, fresh for each delivery attempt.
        var url: String
        var urlExpiresAt: Date
        enum CodingKeys: String, CodingKey {
            case version, url
            case urlExpiresAt = "url_expires_at"
        }
    }

    var event = "release"
    var app: String
    var version: Int
    var description: String
    /// Absent for an image released by reference, which no build made.
    var build: String?
    var commit: String?
    var configVersion: Int
    var config: Config
    /// Where the release service reports the deploy's outcome (`POST`, signed as the hand-off is).
    var statusURL: String
    var createdAt: Date
    /// Absent for a Dockerfile build, whose product is its image.
    var slug: Slug?
    /// Present for a Dockerfile build, and for a slug exported as an image.
    var image: Image?
    /// The manifest's exact bytes, base64: its signature covers them.
    var manifest: String
    /// The Ed25519 signature of the manifest, base64.
    var manifestSignature: String
    var processTypes: [String: String]
    /// Present for a hot release: the deployer runs `command` (relative to
    /// the new slug's root) against the running node instead of restarting it.
    var hot: SlugUpgrade?

    /// The path of version `version` of `app`'s config, which its signed URL signs.
    static func configPath(app: String, version: Int) -> String {
        "/api/apps/\(app)/config/versions/\(version)"
    }

    /// The path a release service reports release `version`'s deploy to.
    static func statusPath(app: String, version: Int) -> String {
        "/api/apps/\(app)/releases/v\(version)/status"
    }

    enum CodingKeys: String, CodingKey {
        case event, app, version, description, build, commit, slug, image, manifest, hot, config
        case configVersion = "config_version"
        case statusURL = "status_url"
        case createdAt = "created_at"
        case manifestSignature = "manifest_signature"
        case processTypes = "process_types"
    }
}
