import Foundation
import Hummingbird
import KilnAPI
import KilnBlobStore
import KilnBuildLog
import KilnCatalog
import KilnQueue
import KilnReceiver
import KilnSigning
import Logging

/// The JSON API of docs/openapi.yaml: the generated `APIProtocol`, registered
/// on the server's router by `registerHandlers`. Each operation authorises
/// with the request's key (``Credentials/current``) and throws
/// ``KilnHTTPError``s, which ``ErrorMiddleware`` turns into responses; the
/// operations are split by area in `APIHandler+Topic.swift`.
struct APIHandler: APIProtocol {
    let configuration: ServerConfiguration
    let catalog: Catalog
    let authorizer: Authorizer
    let vault: ConfigVault
    let queue: BuildQueue
    let log: BuildLog
    let blobs: BlobStorage
    let importer: SourceArchiveImport
    /// The apps' bare repositories (an app's deletion removes its own).
    let repositories: RepositoryStore
    let signer: URLSigner
    let registry: WorkerRegistry
    let key: FarmKey
    /// The dependency cache's shared tier first, then this host's local tier.
    let tiers: [URL]
    let logger: Logger

    var credentials: Credentials? { Credentials.current }

    /// `app` when it can name an app; otherwise the not-found answer, before
    /// a name no app can have (a NUL byte, 300 characters) reaches the database.
    func appName(_ app: String) throws -> String {
        guard App.isValidName(app) else { throw HTTPError(.notFound, message: "there is no app named \(app)") }
        return app
    }

    /// The build `id`, once the request's key may see it.
    func authorizedBuild(_ id: String) async throws -> Build {
        // Ids are `b-N`; anything else is not looked up.
        let isBuildID = id.hasPrefix("b-") && id.count <= 24 && id.dropFirst(2).allSatisfy(\.isASCII) && Int64(id.dropFirst(2)) != nil
        guard isBuildID, let build = try await queue.build(id: id) else {
            throw HTTPError(.notFound, message: "there is no build \(id): see `kiln builds list`")
        }
        try await authorizer.requireApp(credentials, app: build.app)
        return build
    }
}
