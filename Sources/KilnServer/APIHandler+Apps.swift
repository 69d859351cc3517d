import Foundation
import Hummingbird
import KilnAPI
import KilnCache
import KilnCatalog
import KilnProcess

/// Apps, their settings, config vars and keys.
extension APIHandler {
    func listApps(_ input: Operations.ListApps.Input) async throws -> Operations.ListApps.Output {
        try await authorizer.requireAdmin(credentials)
        return .ok(.init(body: .json(try await catalog.apps().map(Components.Schemas.App.init))))
    }

    func createApp(_ input: Operations.CreateApp.Input) async throws -> Operations.CreateApp.Output {
        try await authorizer.requireAdmin(credentials)
        guard case .json(let body) = input.body else { throw HTTPError(.unsupportedMediaType) }
        let app = try await catalog.createApp(name: body.name, deployBranch: body.branch ?? "main")
        let created = Components.Schemas.CreatedApp(value1: .init(app), value2: .init(gitUrl: "\(configuration.publicURL)/\(app.name).git"))
        return .created(.init(body: .json(created)))
    }

    func getApp(_ input: Operations.GetApp.Input) async throws -> Operations.GetApp.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        guard let found = try await catalog.app(named: try appName(app)) else { throw try await catalog.absentApp(app) }
        return .ok(.init(body: .json(.init(found))))
    }

    func updateApp(_ input: Operations.UpdateApp.Input) async throws -> Operations.UpdateApp.Output {
        // Opening a build's network is the administrator's call, not the app's.
        try await authorizer.requireAdmin(credentials)
        let app = try appName(input.path.app)
        guard case .json(let settings) = input.body else { throw HTTPError(.unsupportedMediaType) }
        var updated = try await catalog.updateApp(app, buildNetwork: settings.buildNetwork, sourceDir: settings.sourceDir, cacheKeyFiles: settings.cacheKeyFiles,
                                                  dockerBuildArgs: settings.dockerBuildArgs, exportImage: settings.exportImage, stack: settings.stack)
        if settings.releaseWebhook != nil || settings.releaseWebhookSecret != nil {
            updated = try await catalog.setReleaseWebhook(app: app, url: settings.releaseWebhook ?? updated.releaseWebhook ?? "",
                                                          secret: settings.releaseWebhookSecret, vault: vault)
        }
        return .ok(.init(body: .json(.init(updated))))
    }

    func deleteApp(_ input: Operations.DeleteApp.Input) async throws -> Operations.DeleteApp.Output {
        try await authorizer.requireAdmin(credentials)
        let app = try appName(input.path.app)
        guard input.query.confirm == app else {
            throw HTTPError(.badRequest, message: "deleting \(app) needs its name repeated as the confirmation (`kiln apps delete \(app) --confirm \(app)`), not '\(input.query.confirm.prefix(80))': nothing was deleted")
        }
        let deletion = try await catalog.deleteApp(app, purge: input.query.purge ?? false)
        let repositories = self.repositories, submodules = configuration.layout.submoduleCache(app: app), tiers = self.tiers
        let removed: Bool
        do {
            removed = try await onThread {
                let removed = try repositories.remove(app: app)
                // The app's own submodule mirrors and cache entries: no other app reads them.
                try? FileManager.default.removeItem(at: submodules)
                for tier in tiers { try? CacheStore(root: tier).purge(app: app) }
                return removed
            }
        } catch {
            throw HTTPError(.internalServerError, message: "\(app) was deleted, but its repository was not removed (\(error)): remove \(repositories.path(for: app).path) by hand")
        }
        return .ok(.init(body: .json(.init(deletion, repositoryRemoved: removed))))
    }

    func getConfig(_ input: Operations.GetConfig.Input) async throws -> Operations.GetConfig.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        return .ok(.init(body: .json(.init(try await catalog.config(app: try appName(app), vault: vault)))))
    }

    func changeConfig(_ input: Operations.ChangeConfig.Input) async throws -> Operations.ChangeConfig.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        guard case .json(let change) = input.body else { throw HTTPError(.unsupportedMediaType) }
        let releasedBy = change.release == false ? nil : try await actor()
        let (config, release) = try await catalog.changeConfig(app: try appName(app), set: change.set?.additionalProperties ?? [:], unset: change.unset ?? [],
                                                               vault: vault, releasedBy: releasedBy)
        return .ok(.init(body: .json(.init(value1: .init(config), value2: .init(release: release.map(Components.Schemas.Release.init))))))
    }

    func getConfigVersion(_ input: Operations.GetConfigVersion.Input) async throws -> Operations.GetConfigVersion.Output {
        let app = input.path.app, version = input.path.version
        if input.query.expires != nil || input.query.signature != nil {
            // A hand-off's config URL: the signature is the authority, no key is needed.
            try signer.authorize(path: ReleaseHandoff.configPath(app: app, version: version), expires: input.query.expires, signature: input.query.signature,
                                 unsigned: "this URL is signed only in part: give both expires and signature, as a hand-off's config.url has them, or present a key instead")
        } else {
            try await authorizer.requireApp(credentials, app: app)
        }
        return .ok(.init(body: .json(.init(try await catalog.config(app: try appName(app), version: version, vault: vault)))))
    }

    func createKey(_ input: Operations.CreateKey.Input) async throws -> Operations.CreateKey.Output {
        try await authorizer.requireAdmin(credentials)
        let app = input.path.app
        let key = try await catalog.createKey(app: try appName(app))
        return .created(.init(body: .json(.init(app: app, key: key))))
    }
}
