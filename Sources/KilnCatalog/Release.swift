import Foundation

/// A release: version N of an app, pointing at the slug or the image of the
/// build that made it, or at an image released by reference (no build).
public struct Release: Codable, Sendable, Equatable {
    public var app: String
    public var version: Int
    /// The build that made its slug or image (`b-N`); `nil` for an image released by reference.
    public var build: String?
    /// `nil` for a Dockerfile build, whose release is its ``image`` only.
    public var slugDigest: String?
    /// The build's OCI image by digest, when it has one (a Dockerfile build, or an exported slug).
    public var image: String?
    /// The ports the image EXPOSEs, which the release service routes to.
    public var ports: [Int]?
    /// The config version the build compiled with (0: none set).
    public var configVersion: Int
    public var createdAt: Date
    /// "Deploy b-12 (abc123def456)", "Rollback to v3", "Set DATABASE_URL by admin".
    public var description: String
    /// The release service's hand-off: "delivered", "pending (attempt N: ERROR)", or "none" (no webhook then).
    public var handoff: String
    /// Set when the release is deployed as a hot upgrade of the one before
    /// it (the running node applies it in place) rather than by a restart.
    public var upgrade: Upgrade?
    /// What the release service last reported of its deploy; `nil` before any report.
    public var status: Status?
    /// Why, as the release service said it (a failure's reason).
    public var statusReason: String?
    public var statusAt: Date?
    /// For an automatic rollback: the version whose failed deploy made it.
    public var rollbackOf: Int?

    /// A deploy's outcome, as the release service reports it.
    public enum Status: String, Codable, Sendable, Equatable, CaseIterable {
        case deploying, succeeded, failed
    }

    /// The OTP release versions a hot release goes from and to.
    public struct Upgrade: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public init(app: String, version: Int, build: String?, slugDigest: String?, configVersion: Int, createdAt: Date, description: String, handoff: String,
                upgrade: Upgrade? = nil, image: String? = nil, ports: [Int]? = nil, status: Status? = nil, statusReason: String? = nil, statusAt: Date? = nil,
                rollbackOf: Int? = nil) {
        self.app = app
        self.version = version
        self.build = build
        self.slugDigest = slugDigest
        self.configVersion = configVersion
        self.createdAt = createdAt
        self.description = description
        self.handoff = handoff
        self.upgrade = upgrade
        self.image = image
        self.ports = ports
        self.status = status
        self.statusReason = statusReason
        self.statusAt = statusAt
        self.rollbackOf = rollbackOf
    }

    enum CodingKeys: String, CodingKey {
        case app, version, build, description, handoff, upgrade, image, ports, status
        case slugDigest = "slug_digest"
        case statusReason = "status_reason"
        case statusAt = "status_at"
        case rollbackOf = "rollback_of"
        case configVersion = "config_version"
        case createdAt = "created_at"
    }
}
