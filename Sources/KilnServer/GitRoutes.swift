import Hummingbird
import KilnCatalog
import KilnReceiver

/// git smart HTTP: `/APP.git/info/refs`, `/APP.git/git-receive-pack`, `/APP.git/git-upload-pack`.
struct GitRoutes: Sendable {
    let configuration: ServerConfiguration
    let catalog: Catalog
    let authorizer: Authorizer
    let backend: GitHTTPBackend
    let repositories: RepositoryStore

    func register(on router: Router<BasicRequestContext>) {
        router.get(":repo/info/refs") { request, context in
            let service = request.uri.queryParameters.get("service").flatMap(GitHTTPBackend.Service.init(rawValue:))
            guard let service else {
                throw HTTPError(.forbidden, message: "only git's smart HTTP protocol is served: upgrade git")
            }
            return try await respond(request, context, pathInfo: "/info/refs", service: service)
        }
        router.post(":repo/git-receive-pack") { request, context in
            try await respond(request, context, pathInfo: "/git-receive-pack", service: .receivePack)
        }
        router.post(":repo/git-upload-pack") { request, context in
            try await respond(request, context, pathInfo: "/git-upload-pack", service: .uploadPack)
        }
    }

    private func respond(_ request: Request, _ context: BasicRequestContext, pathInfo: String, service: GitHTTPBackend.Service) async throws -> Response {
        let repo = try context.parameters.require("repo")
        guard repo.hasSuffix(".git") else { throw HTTPError(.notFound, message: "repositories are named APP.git") }
        let app = String(repo.dropLast(4))
        guard App.isValidName(app), let record = try await catalog.app(named: app) else {
            throw HTTPError(.notFound, message: "there is no app \(app): create it with `kiln apps create \(app)`")
        }
        let credentials = try await authorizer.requireApp(request, app: app)
        try await repositories.prepare(app: app, deployBranch: record.deployBranch)
        var hook = PushHookEnvironment(
            app: app, databaseURL: configuration.databaseURL, home: configuration.home.path,
            clean: Self.flag(request, "kiln-clean") || Self.flag(request, "gigalixir-clean"),
            hot: Self.flag(request, "kiln-hot") || Self.flag(request, "gigalixir-hot"), s3: configuration.s3,
            fetchPolicy: configuration.fetchPolicy)
        hook.maxFileSize = configuration.maxPushFileSize
        return backend.respond(to: request, app: app, pathInfo: pathInfo, service: service, user: credentials.user, environment: hook.variables)
    }

    static func flag(_ request: Request, _ name: String) -> Bool {
        request.headers.contains { $0.name.canonicalName == name && $0.value.lowercased() == "true" }
    }
}
