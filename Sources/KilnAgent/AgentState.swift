import Foundation

/// One deploy outcome, as `GET /apps/APP` and its deploys list show it.
public struct DeployRecord: Codable, Sendable, Equatable {
    /// `refused` is a hand-off turned away before it was taken.
    public enum Outcome: String, Codable, Sendable {
        case succeeded, failed, refused
    }

    /// The release's version, when the hand-off named one.
    public var version: Int?
    public var outcome: Outcome
    public var reason: String?
    public var at: Date

    /// An outcome of `version` (when known), at `at`.
    public init(version: Int?, outcome: Outcome, reason: String?, at: Date = Date()) {
        self.version = version
        self.outcome = outcome
        self.reason = reason
        self.at = at
    }
}

/// How an app's current release starts, kept so that the agent can start it
/// again when it starts.
struct Launch: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        case slug, image
    }

    var kind: Kind
    /// A slug's `web` process type, run by bash after `.profile.d`.
    var command: String?
    /// An image's ENTRYPOINT + CMD, its working directory and its `Env`.
    var argv: [String]?
    var workingDirectory: String?
    var imageEnvironment: [String]?
}

/// The release an app runs, as recorded in `state.json`.
struct CurrentRelease: Codable, Sendable, Equatable {
    var version: Int
    /// Its directory under the app's (`vN`): the slug's `app/`, or the image's `rootfs/`.
    var directory: String
    var launch: Launch
    /// Config vars and `--app-env` variables, PORT aside.
    var environment: [String: String]
}

/// What the agent knows of one app across restarts.
struct AppRecord: Codable, Sendable, Equatable {
    var port: Int?
    var current: CurrentRelease?
    var deploys: [DeployRecord] = []
    /// The highest version of the app's hand-offs the agent has taken: one
    /// not above it is a replay (the Idempotency-Key is not signed) or stale.
    var highestTaken: Int?
}
