import Foundation

/// A release: version N of an app, pointing at the slug of the build that made it.
public struct Release: Codable, Sendable, Equatable {
    public var app: String
    public var version: Int
    public var build: String
    public var slugDigest: String
    /// The config version the build compiled with (0: none set).
    public var configVersion: Int
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case app, version, build
        case slugDigest = "slug_digest"
        case configVersion = "config_version"
        case createdAt = "created_at"
    }
}
