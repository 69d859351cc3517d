import Foundation
import Hummingbird
import KilnBlobStore
import KilnBuildLog
import KilnQueue

/// `/api/builds`: list, show, cancel, read the log, download the slug.
struct BuildRoutes: Sendable {
    let queue: BuildQueue
    let log: BuildLog
    let blobs: BlobStorage
    let authorizer: Authorizer

    struct LogPage: Encodable {
        var build: String
        var state: BuildState
        var lines: [LogLine]
        /// True when the build has ended and every line has been returned.
        var done: Bool
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/builds") { request, _ in
            if let app = request.uri.queryParameters.get("app") {
                _ = try await authorizer.requireApp(request, app: app)
                return try JSONResponse.make(try await queue.builds(app: app, limit: request.uri.queryParameters.get("limit", as: Int.self) ?? 50))
            }
            try await authorizer.requireAdmin(request)
            return try JSONResponse.make(try await queue.builds(app: nil, limit: request.uri.queryParameters.get("limit", as: Int.self) ?? 50))
        }
        router.get("api/builds/:id") { request, context in
            try JSONResponse.make(try await authorizedBuild(request, context))
        }
        router.post("api/builds/:id/cancel") { request, context in
            let build = try await authorizedBuild(request, context)
            return try JSONResponse.make(try await queueCall { try await queue.cancel(id: build.id) })
        }
        router.post("api/builds/:id/retry") { request, context in
            let build = try await authorizedBuild(request, context)
            return try JSONResponse.make(try await queueCall { try await queue.retry(id: build.id) }, status: .created)
        }
        router.get("api/builds/:id/log") { request, context in
            let build = try await authorizedBuild(request, context)
            let after = request.uri.queryParameters.get("after", as: Int.self) ?? 0
            let wait = min(request.uri.queryParameters.get("wait", as: Int.self) ?? 0, 30)
            // A long poll: wait up to `wait` seconds for lines or the end of the build.
            let deadline = ContinuousClock.now + .seconds(wait)
            while true {
                let current = try await queue.build(id: build.id) ?? build
                let lines = try await log.lines(buildSeq: build.seq, after: after)
                if !lines.isEmpty || current.state.isFinal || ContinuousClock.now >= deadline {
                    return try JSONResponse.make(LogPage(build: build.id, state: current.state, lines: lines, done: current.state.isFinal && lines.isEmpty))
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
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

    /// Runs a queue call, turning its errors into HTTP answers.
    private func queueCall<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as QueueError {
            switch error.code {
            case .full: throw HTTPError(.tooManyRequests, message: error.message)
            case .notFound: throw HTTPError(.notFound, message: error.message)
            case .fenced, .other: throw HTTPError(.conflict, message: error.message)
            }
        }
    }

    private func authorizedBuild(_ request: Request, _ context: BasicRequestContext) async throws -> Build {
        let id = try context.parameters.require("id")
        guard let build = try await queue.build(id: id) else {
            throw HTTPError(.notFound, message: "there is no build \(id): see `kiln builds list`")
        }
        _ = try await authorizer.requireApp(request, app: build.app)
        return build
    }
}
