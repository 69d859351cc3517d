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
    /// "Deploy b-12 (abc123def456)", "Rollback to v3".
    public var description: String
    /// The release service's hand-off: "delivered", "pending (attempt N: ERROR)", or "none" (no webhook then).
    public var handoff: String
    /// Set when the release is deployed as a hot upgrade of the one before
    /// it (the running node applies it in place) rather than by a restart.
    public var upgrade: Upgrade?

    /// The OTP release versions a hot release goes from and to.
    public struct Upgrade: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public init(app: String, version: Int, build: String, slugDigest: String, configVersion: Int, createdAt: Date, description: String, handoff: String,
                upgrade: Upgrade? = nil) {
        self.app = app
        self.version = version
        self.build = build
        self.slugDigest = slugDigest
        self.configVersion = configVersion
        self.createdAt = createdAt
        self.description = description
        self.handoff = handoff
        self.upgrade = upgrade
    }

    enum CodingKeys: String, CodingKey {
        case app, version, build, description, handoff, upgrade
        case slugDigest = "slug_digest"
        case configVersion = "config_version"
        case createdAt = "created_at"
    }
}
