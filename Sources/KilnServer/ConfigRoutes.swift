import Foundation
import Hummingbird
import KilnCatalog

/// An app's build settings (`/api/apps/:app`, administrators) and config
/// vars (`/api/apps/:app/config`, the app's key or an administrator).
struct ConfigRoutes: Sendable {
    let catalog: Catalog
    let authorizer: Authorizer
    let vault: ConfigVault

    struct ChangeApp: Decodable {
        var buildNetwork: Bool?
        var sourceDir: String?
        var cacheKeyFiles: [String]?
        var releaseWebhook: String?
        var releaseWebhookSecret: String?
        var dockerBuildArgs: Bool?
        var exportImage: Bool?
        enum CodingKeys: String, CodingKey {
            case dockerBuildArgs = "docker_build_args"
            case exportImage = "export_image"
            case releaseWebhook = "release_webhook"
            case releaseWebhookSecret = "release_webhook_secret"
            case buildNetwork = "build_network"
            case sourceDir = "source_dir"
            case cacheKeyFiles = "cache_key_files"
        }
    }

    struct ChangeConfig: Decodable {
        var set: [String: String]?
        var unset: [String]?
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/apps/:app") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            guard let found = try await catalog.app(named: app) else { throw HTTPError(.notFound, message: "there is no app named \(app)") }
            return try JSONResponse.make(found)
        }
        router.patch("api/apps/:app") { request, context in
            // Opening a build's network is the administrator's call, not the app's.
            try await authorizer.requireAdmin(request)
            let app = try context.parameters.require("app")
            let body = try await request.decode(as: ChangeApp.self, context: context)
            return try await Self.mapping {
                var updated = try await catalog.updateApp(app, buildNetwork: body.buildNetwork, sourceDir: body.sourceDir, cacheKeyFiles: body.cacheKeyFiles,
                                                     dockerBuildArgs: body.dockerBuildArgs, exportImage: body.exportImage)
                if body.releaseWebhook != nil || body.releaseWebhookSecret != nil {
                    updated = try await catalog.setReleaseWebhook(app: app, url: body.releaseWebhook ?? updated.releaseWebhook ?? "",
                                                                  secret: body.releaseWebhookSecret, vault: vault)
                }
                return try JSONResponse.make(updated)
            }
        }
        router.get("api/apps/:app/config") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            return try await Self.mapping { try JSONResponse.make(try await catalog.config(app: app, vault: vault)) }
        }
        router.patch("api/apps/:app/config") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            let body = try await request.decode(as: ChangeConfig.self, context: context)
            return try await Self.mapping {
                try JSONResponse.make(try await catalog.changeConfig(app: app, set: body.set ?? [:], unset: body.unset ?? [], vault: vault))
            }
        }
    }

    static func mapping(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as CatalogError {
            throw HTTPError(error.code == .notFound ? .notFound : .badRequest, message: error.message)
        }
    }
}
