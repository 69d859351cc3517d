import Foundation
import Hummingbird
import KilnBlobStore
import KilnProcess
import KilnQueue
import KilnReceiver

/// `POST /api/apps/:app/builds`: a build from a source archive at a URL,
/// for apps whose code does not arrive by `git push` (CI artifacts, a
/// release tarball).
struct SourceURLRoutes: Sendable {
    let queue: BuildQueue
    let blobs: BlobStorage
    let authorizer: Authorizer
    let importer: SourceArchiveImport

    struct CreateBuild: Decodable {
        var sourceURL: String
        var clean: Bool?
        var hot: Bool?
        enum CodingKeys: String, CodingKey {
            case sourceURL = "source_url"
            case clean, hot
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("api/apps/:app/builds") { request, context in
            let app = try context.parameters.require("app")
            _ = try await authorizer.requireApp(request, app: app)
            let body = try await request.decode(as: CreateBuild.self, context: context)
            let digest: BlobDigest
            do {
                let importer = self.importer, blobs = self.blobs
                digest = try await onThread {
                    let digest = try importer.run(body.sourceURL, into: blobs.local)
                    try blobs.publish(digest)
                    return digest
                }
            } catch let error as SourceImportError {
                throw HTTPError(.unprocessableContent, message: error.description)
            }
            do {
                let build = try await queue.enqueue(BuildRequest(app: app, commit: nil, branch: nil, sourceDigest: digest.hex,
                                                                 clean: body.clean ?? false, hot: body.hot ?? false))
                return try JSONResponse.make(build, status: .created)
            } catch let error as QueueError where error.code == .full {
                throw HTTPError(.tooManyRequests, message: error.message)
            }
        }
    }
}
