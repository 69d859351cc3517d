import Foundation
import Hummingbird
import KilnAPI
import KilnCatalog

/// An app's releases: listed, made from an image by digest, rolled back,
/// and their deploy outcomes as the release service reports them.
extension APIHandler {
    func listReleases(_ input: Operations.ListReleases.Input) async throws -> Operations.ListReleases.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        // A name no app can have has no releases, as an app without any.
        let releases = App.isValidName(app) ? try await catalog.releases(app: app) : []
        return .ok(.init(body: .json(releases.map(Components.Schemas.Release.init))))
    }

    func createRelease(_ input: Operations.CreateRelease.Input) async throws -> Operations.CreateRelease.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        let grant = try await authorizer.grant(credentials)
        guard case .json(let body) = input.body else { throw HTTPError(.unsupportedMediaType) }
        guard try await catalog.app(named: try appName(app)) != nil else { throw try await catalog.absentApp(app) }
        // The reference is checked first: a tag is refused for what it is, whatever the server has.
        _ = try ImageRelease.digestReference(body.image)
        guard let registry = configuration.registry else {
            throw HTTPError(.conflict, message: "this server has no registry to release images into: start it with --registry HOST[:PORT]/PREFIX (`kiln server` or `kiln up`), the registry the workers push to")
        }
        let releaser = ImageRelease(registry: registry, catalog: catalog, blobs: blobs, keyFile: configuration.keyFile, policy: configuration.fetchPolicy,
                                    scratch: configuration.layout.temporary, logger: logger)
        let release = try await releaser.release(app: app, image: body.image, by: try await actor(), administrator: grant == .admin)
        return .created(.init(body: .json(.init(release))))
    }

    func rollback(_ input: Operations.Rollback.Input) async throws -> Operations.Rollback.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        guard case .json(let body) = input.body else { throw HTTPError(.unsupportedMediaType) }
        let release = try await catalog.rollback(app: try appName(app), to: body.version)
        return .created(.init(body: .json(.init(release))))
    }

    func reportReleaseStatus(_ input: Operations.ReportReleaseStatus.Input) async throws -> Operations.ReportReleaseStatus.Output {
        let app = input.path.app
        try await authorizer.requireStatusReporter(credentials, app: app)
        guard case .json(let report) = input.body else { throw HTTPError(.unsupportedMediaType) }
        let version = try Self.releaseVersion(input.path.release, app: app)
        if SignedStatusReport.current != nil {
            // The signature covers the body, not the path: a body that names its release cannot be replayed on another's route.
            guard report.app == app, let named = report.release, (try? Self.releaseVersion(named, app: app)) == version else {
                throw HTTPError(.unauthorized, message: "a signed status report names its release in the body ({\"app\": \"\(app)\", \"release\": \"v\(version)\", \"status\": …}), and it must be the path's; this one names \(report.app.map { "'\($0.prefix(80))'" } ?? "no app") \(report.release.map { "'\($0.prefix(20))'" } ?? "and no release"): nothing was recorded")
            }
        }
        let (release, rollback) = try await catalog.recordStatus(app: try appName(app), version: version, status: .init(report.status), reason: report.reason,
                                                                      signature: SignedStatusReport.current?.signature)
        if let rollback {
            logger.warning("release failed; rolled back", metadata: ["app": "\(app)", "failed": "v\(version)", "release": "v\(rollback.version)",
                                                                      "reason": "\(release.statusReason ?? "")"])
        }
        return .ok(.init(body: .json(.init(release: .init(release), rollback: rollback.map(Components.Schemas.Release.init)))))
    }

    /// The version a `{release}` path names: `vN` or `N`; a 404 for anything else.
    static func releaseVersion(_ text: String, app: String) throws -> Int {
        let digits = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits) else {
            throw HTTPError(.notFound, message: "\(app) has no release '\(text.prefix(80))': give vN, as `kiln releases --app \(app)` lists them")
        }
        return version
    }

    /// Who presents the request's key, as a release's description names them: `admin` or `key-N`.
    func actor() async throws -> String {
        guard let key = credentials?.key, let actor = try await catalog.actor(for: key) else {
            throw HTTPError(.unauthorized, headers: Authorizer.challenge, message: "the API key is not valid (unknown, revoked, or its app was deleted)")
        }
        return actor
    }
}
