import Foundation
import Hummingbird
import KilnBlobStore
import KilnQueue

/// `GET /api/builds/:id/{slug,manifest,signature}`: a build's artifacts,
/// streamed from the farm's store by Hummingbird's `FileIO` (docs/api.md: by
/// hand, since a slug can be far larger than a body the generated code would
/// hold; `kiln slug get` writes them straight to disk).
struct BuildArtifactRoutes: Sendable {
    let queue: BuildQueue
    let blobs: BlobStorage
    let authorizer: Authorizer

    func register(on router: Router<BasicRequestContext>) {
        for (name, column) in [("slug", \Build.slugDigest), ("manifest", \Build.manifestDigest), ("signature", \Build.signatureDigest)] {
            router.get("api/builds/:id/\(name)") { request, context in
                let build = try await authorizedBuild(request, context)
                guard let hex = build[keyPath: column], let digest = BlobDigest(hex) else {
                    throw HTTPError(.notFound, message: "build \(build.id) has no \(name): it is \(build.state.rawValue)")
                }
                let body = try await FileIO().loadFile(path: try await localFile(digest, blobs: blobs), context: context)
                var headers = HTTPFields()
                headers[.contentType] = name == "manifest" ? "application/json" : "application/octet-stream"
                headers[.eTag] = "\"\(hex)\""
                return Response(status: .ok, headers: headers, body: body)
            }
        }
    }

    private func authorizedBuild(_ request: Request, _ context: BasicRequestContext) async throws -> Build {
        let id = try context.parameters.require("id")
        guard id.hasPrefix("b-"), Int64(id.dropFirst(2)) != nil, let build = try await queue.build(id: id) else {
            throw HTTPError(.notFound, message: "there is no build \(id): see `kiln builds list`")
        }
        _ = try await authorizer.requireApp(request, app: build.app)
        return build
    }
}
