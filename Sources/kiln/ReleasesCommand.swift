import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln releases [list] --app A`, `kiln releases create --app A --image REF@sha256:…`,
/// `kiln releases status --app A vN STATUS [--reason R]`.
struct ReleasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "releases", abstract: "List an app's releases, release an image by digest, and record a deploy's outcome.",
        subcommands: [List.self, Create.self, Status.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an app's releases, newest first.")
        @Option(help: "The app.") var app: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let releases = try await KilnClient.fromEnvironment().call { try await $0.listReleases(path: .init(app: app)).ok.body.json }
            if json { try Output.json(releases); return }
            Output.table(["VERSION", "BUILD", "SLUG", "IMAGE", "CONFIG", "CREATED", "DEPLOY", "HANDOFF", "STATUS", "DESCRIPTION"], releases.map {
                ["v\($0.version)", $0.build ?? "-", $0.slugDigest.map { String($0.prefix(12)) } ?? "-", $0.image.map(ReleasesCommand.short) ?? "-", "v\($0.configVersion)",
                 Output.time($0.createdAt), $0.upgrade.map { "hot \($0.from)->\($0.to)" } ?? "restart", $0.handoff, ReleasesCommand.status($0), $0.description]
            })
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Release an OCI image by digest, which no build made: the server copies it into the farm's registry (digest kept), \
            signs it, and hands the release off like any.
            """)
        @Option(help: "The app.") var app: String
        @Option(help: "The image: REGISTRY/REPOSITORY@sha256:HEX (a digest: a tag could later name another image).") var image: String

        func run() async throws {
            // The server copies the image before it answers: as long as its skopeo commands may take (600 s each).
            let release = try await KilnClient.fromEnvironment().call(timeout: 1800) {
                try await $0.createRelease(path: .init(app: app), body: .json(.init(image: image))).created.body.json
            }
            emit("\(app) v\(release.version): \(release.description) (\(release.image ?? "-")\(release.ports.map { ", ports \($0.map(String.init).joined(separator: ", "))" } ?? ""), config v\(release.configVersion))")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Record a release's deploy outcome, as a release service reports it; a failure of the newest release rolls back \
            to the last release that succeeded.
            """)
        @Option(help: "The app.") var app: String
        @Argument(help: "The release: vN or N.") var version: String
        @Argument(help: "deploying, succeeded or failed.") var status: Outcome
        @Option(help: "Why (a failure's cause); the first 1000 characters are kept.") var reason: String?

        /// The outcomes a report may give (`Components.Schemas.ReleaseStatus`).
        enum Outcome: String, ExpressibleByArgument, CaseIterable {
            case deploying, succeeded, failed

            var wire: Components.Schemas.ReleaseStatus {
                switch self {
                case .deploying: .deploying
                case .succeeded: .succeeded
                case .failed: .failed
                }
            }
        }

        func run() async throws {
            let result = try await KilnClient.fromEnvironment().call {
                try await $0.reportReleaseStatus(path: .init(app: app, release: version), body: .json(.init(status: status.wire, reason: reason))).ok.body.json
            }
            emit("\(app) v\(result.release.version): \(ReleasesCommand.status(result.release))")
            if let rollback = result.rollback {
                emit("-----> Rolled back: \(app) v\(rollback.version): \(rollback.description)")
            }
        }
    }

    /// `deploying`, `succeeded`, `failed (reason)`, or `-` before any report.
    static func status(_ release: Components.Schemas.Release) -> String {
        guard let status = release.status else { return "-" }
        return status.rawValue + (release.statusReason.map { " (\($0))" } ?? "")
    }

    /// `REPO@sha256:0123456789ab`: enough of the digest to tell images apart in a table.
    static func short(_ image: String) -> String {
        guard let at = image.range(of: "@sha256:") else { return image }
        return String(image[..<at.upperBound]) + String(image[at.upperBound...].prefix(12))
    }
}

/// `kiln rollback --app A vN`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Release an earlier version's slug (or image) and config again, as a new release (handed off like any).")
    @Option(help: "The app.") var app: String
    @Argument(help: "The release to return to: vN or N.") var version: String

    func run() async throws {
        guard let number = Int(version.hasPrefix("v") ? String(version.dropFirst()) : version) else {
            throw ValidationError("'\(version)' is not a release version: give vN, as `kiln releases --app \(app)` lists them")
        }
        let release = try await KilnClient.fromEnvironment().call { try await $0.rollback(path: .init(app: app), body: .json(.init(version: number))).created.body.json }
        emit("\(app) v\(release.version): \(release.description) (\(release.slugDigest.map { "slug \($0.prefix(12))" } ?? release.image ?? "-"), config v\(release.configVersion))")
    }
}
