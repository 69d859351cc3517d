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
            try await Self.inPlainText {
                let service = request.uri.queryParameters.get("service").flatMap(GitHTTPBackend.Service.init(rawValue:))
                guard let service else {
                    throw HTTPError(.forbidden, message: "only git's smart HTTP protocol is served: upgrade git")
                }
                return try await respond(request, context, pathInfo: "/info/refs", service: service)
            }
        }
        router.post(":repo/git-receive-pack") { request, context in
            try await Self.inPlainText { try await respond(request, context, pathInfo: "/git-receive-pack", service: .receivePack) }
        }
        router.post(":repo/git-upload-pack") { request, context in
            try await Self.inPlainText { try await respond(request, context, pathInfo: "/git-upload-pack", service: .uploadPack) }
        }
    }

    /// Answers a refusal in plain text: git shows such a body as `remote:`
    /// lines (a JSON one it drops, printing only "repository not found").
    static func inPlainText(_ respond: () async throws -> Response) async throws -> Response {
        do {
            return try await respond()
        } catch let error as any KilnHTTPError {
            var headers = error.headers
            headers[.contentType] = "text/plain; charset=utf-8"
            // git (libcurl) sends the key from the URL only when challenged for Basic.
            if error.status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"kiln\"" }
            return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: error.message + "\n")))
        }
    }

    private func respond(_ request: Request, _ context: BasicRequestContext, pathInfo: String, service: GitHTTPBackend.Service) async throws -> Response {
        let repo = try context.parameters.require("repo")
        guard repo.hasSuffix(".git") else { throw HTTPError(.notFound, message: "repositories are named APP.git") }
        let app = String(repo.dropLast(4))
        guard App.isValidName(app), let record = try await catalog.app(named: app) else {
            // Also a deleted app's: the message says it was deleted.
            throw try await catalog.absentApp(app)
        }
        let credentials = try await authorizer.requireApp(request, app: app)
        try await repositories.prepare(app: app, deployBranch: record.deployBranch)
        let hook = configuration.hookEnvironment(
            app: app, clean: Self.flag(request, "kiln-clean") || Self.flag(request, "gigalixir-clean"),
            hot: Self.flag(request, "kiln-hot") || Self.flag(request, "gigalixir-hot"))
        return backend.respond(to: request, app: app, pathInfo: pathInfo, service: service, user: credentials.user, environment: hook.variables)
    }

    static func flag(_ request: Request, _ name: String) -> Bool {
        request.headers.contains { $0.name.canonicalName == name && $0.value.lowercased() == "true" }
    }
}
