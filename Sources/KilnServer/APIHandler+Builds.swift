import Foundation
import Hummingbird
import KilnAPI
import KilnBlobStore
import KilnCatalog
import KilnProcess
import KilnQueue

/// Builds: from a source URL, listed, shown, cancelled, retried, their logs and signed slug URLs.
extension APIHandler {
    /// The longest a signed slug URL may be valid: a week.
    static let maximumTTL = 7 * 24 * 3600

    func createBuild(_ input: Operations.CreateBuild.Input) async throws -> Operations.CreateBuild.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        guard case .json(let body) = input.body else { throw HTTPError(.unsupportedMediaType) }
        // Before the download: a build of no app would be fetched for nothing.
        guard try await catalog.app(named: try appName(app)) != nil else { throw try await catalog.absentApp(app) }
        let importer = self.importer, blobs = self.blobs
        let digest = try await onThread {
            let digest = try importer.run(body.sourceUrl, into: blobs.local)
            try blobs.publish(digest)
            return digest
        }
        let request = BuildRequest(app: app, commit: nil, branch: nil, sourceDigest: digest.hex, clean: body.clean ?? false, hot: body.hot ?? false)
        let build = try await catalog.queueBuild(app: app) { try await queue.enqueue(request) }
        return .created(.init(body: .json(.init(build))))
    }

    func listBuilds(_ input: Operations.ListBuilds.Input) async throws -> Operations.ListBuilds.Output {
        let limit = input.query.limit ?? 50
        guard (1...1000).contains(limit) else { throw HTTPError(.badRequest, message: "limit must be 1 to 1000, not \(limit)") }
        let builds: [Build]
        if let app = input.query.app {
            try await authorizer.requireApp(credentials, app: app)
            builds = App.isValidName(app) ? try await queue.builds(app: app, limit: limit) : []
        } else {
            try await authorizer.requireAdmin(credentials)
            builds = try await queue.builds(app: nil, limit: limit)
        }
        return .ok(.init(body: .json(builds.map(Components.Schemas.Build.init))))
    }

    func getBuild(_ input: Operations.GetBuild.Input) async throws -> Operations.GetBuild.Output {
        .ok(.init(body: .json(.init(try await authorizedBuild(input.path.id)))))
    }

    func cancelBuild(_ input: Operations.CancelBuild.Input) async throws -> Operations.CancelBuild.Output {
        let build = try await authorizedBuild(input.path.id)
        return .ok(.init(body: .json(.init(try await queue.cancel(id: build.id)))))
    }

    func retryBuild(_ input: Operations.RetryBuild.Input) async throws -> Operations.RetryBuild.Output {
        let build = try await authorizedBuild(input.path.id)
        return .created(.init(body: .json(.init(try await catalog.queueBuild(app: build.app) { try await queue.retry(id: build.id) }))))
    }

    func buildLog(_ input: Operations.BuildLog.Input) async throws -> Operations.BuildLog.Output {
        let build = try await authorizedBuild(input.path.id)
        let after = max(input.query.after ?? 0, 0)
        let wait = min(max(input.query.wait ?? 0, 0), 30)
        // A long poll: wait up to `wait` seconds for lines or the end of the build.
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            let current = try await queue.build(id: build.id) ?? build
            let lines = try await log.lines(buildSeq: build.seq, after: after)
            if !lines.isEmpty || current.state.isFinal || ContinuousClock.now >= deadline {
                let page = Components.Schemas.LogPage(build: build.id, state: .init(current.state), lines: lines.map(Components.Schemas.LogLine.init),
                                                      done: current.state.isFinal && lines.isEmpty)
                return .ok(.init(body: .json(page)))
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    func createSlugURL(_ input: Operations.CreateSlugURL.Input) async throws -> Operations.CreateSlugURL.Output {
        let build = try await authorizedBuild(input.path.id)
        guard let digest = build.slugDigest else { throw HTTPError(.notFound, message: "build \(build.id) has no slug: it is \(build.state.rawValue)") }
        let ttl = input.query.ttl ?? 900
        guard (1...Self.maximumTTL).contains(ttl) else { throw HTTPError(.badRequest, message: "ttl must be 1 to \(Self.maximumTTL) seconds, not \(ttl)") }
        let expires = Int(Date().timeIntervalSince1970) + ttl
        let url = configuration.publicURL + signer.signedPath("/slugs/\(digest)", expires: expires)
        return .ok(.init(body: .json(.init(url: url, sha256: digest, expires: expires, expiresAt: Date(timeIntervalSince1970: TimeInterval(expires))))))
    }
}
