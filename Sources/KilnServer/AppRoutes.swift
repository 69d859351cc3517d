import Foundation
import Hummingbird
import KilnCatalog

/// `/api/apps`: create and list apps, create their keys, list their releases, roll back.
struct AppRoutes: Sendable {
    let configuration: ServerConfiguration
    let catalog: Catalog
    let authorizer: Authorizer

    struct CreateApp: Decodable {
        var name: String
        var branch: String?
    }

    struct CreatedApp: Encodable {
        var app: App
        var gitURL: String
        func encode(to encoder: any Encoder) throws {
            try app.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(gitURL, forKey: .gitURL)
        }
        enum Key: String, CodingKey { case gitURL = "git_url" }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("api/apps") { request, context in
            try await authorizer.requireAdmin(request)
            let body = try await request.decode(as: CreateApp.self, context: context)
            do {
                let app = try await catalog.createApp(name: body.name, deployBranch: body.branch ?? "main")
                return try JSONResponse.make(CreatedApp(app: app, gitURL: "\(configuration.publicURL)/\(app.name).git"), status: .created)
            } catch let error as CatalogError {
                throw HTTPError(error.code == .conflict ? .conflict : .badRequest, message: error.message)
            }
        }
        router.get("api/apps") { request, _ in
            try await authorizer.requireAdmin(request)
            return try JSONResponse.make(try await catalog.apps())
        }
        router.post("api/apps/:app/keys") { request, context in
            try await authorizer.requireAdmin(request)
            let app = try context.parameters.require("app")
            do {
                return try JSONResponse.make(["app": app, "key": try await catalog.createKey(app: app)], status: .created)
            } catch let error as CatalogError {
                throw HTTPError(.notFound, message: error.message)
            }
        }
        router.get("api/apps/:app/releases") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            return try JSONResponse.make(try await catalog.releases(app: app))
        }
        router.post("api/apps/:app/rollback") { request, context in
            struct Body: Decodable { var version: Int }
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            let body = try await request.decode(as: Body.self, context: context)
            return try await ConfigRoutes.mapping { try JSONResponse.make(try await catalog.rollback(app: app, to: body.version), status: .created) }
        }
    }
}
