import Foundation
import Hummingbird
import Logging
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Serves git's smart HTTP protocol by running `git http-backend` (CGI) for
/// each request, with the request body streamed into it and its output
/// streamed back: a push of any size passes through in chunks.
public struct GitHTTPBackend: Sendable {
    /// The two services git's smart HTTP offers.
    public enum Service: String, Sendable {
        case receivePack = "git-receive-pack"
        case uploadPack = "git-upload-pack"
    }

    let repositories: RepositoryStore
    let logger: Logger

    public init(repositories: RepositoryStore, logger: Logger) {
        self.repositories = repositories
        self.logger = logger
    }

    /// Answers one request for `app`'s repository. `pathInfo` is the part
    /// after the repository (`/info/refs`, `/git-receive-pack`, …);
    /// `environment` reaches the pre-receive hook.
    public func respond(to request: Request, app: String, pathInfo: String, service: Service, user: String, environment: [String: String]) -> Response {
        let repository = repositories.path(for: app)
        var cgi: [String: String] = environment
        cgi["GIT_PROJECT_ROOT"] = repositories.root.path
        cgi["GIT_HTTP_EXPORT_ALL"] = "1"
        cgi["PATH_INFO"] = "/\(app).git\(pathInfo)"
        cgi["REQUEST_METHOD"] = request.method.rawValue
        cgi["QUERY_STRING"] = request.uri.query ?? ""
        cgi["REMOTE_USER"] = user
        cgi["REMOTE_ADDR"] = "127.0.0.1"
        cgi["CONTENT_TYPE"] = request.headers[.contentType] ?? ""
        if let length = request.headers[.contentLength] { cgi["CONTENT_LENGTH"] = length }
        if let encoding = request.headers[.contentEncoding] { cgi["HTTP_CONTENT_ENCODING"] = encoding }
        if let version = request.headers.first(where: { $0.name.canonicalName == "git-protocol" }) { cgi["GIT_PROTOCOL"] = version.value }
        cgi["KILN_EXECUTABLE"] = Self.ownExecutable

        let advertisement = pathInfo == "/info/refs"
        let contentType = advertisement ? "application/x-\(service.rawValue)-advertisement" : "application/x-\(service.rawValue)-result"
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-cache, max-age=0, must-revalidate"
        let body = request.body
        let logger = logger
        let variables = Dictionary(uniqueKeysWithValues: cgi.compactMap { name, value in
            Subprocess.Environment.Key(rawValue: name).map { ($0, Optional(value)) }
        })
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let configuration = Configuration(
                executable: .name("git"),
                arguments: ["http-backend"],
                environment: .inherit.updating(variables),
                workingDirectory: FilePath(repository.path)
            )
            let result = try await Subprocess.run(configuration, input: .inputWriter, output: .sequence, error: .string(limit: 64 * 1024)) { execution in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // A push that outlasts its build's limits by far is stopped: cancelling the group ends git and its hook.
                    group.addTask {
                        try await Task.sleep(for: Self.timeLimit)
                        logger.warning("git http-backend stopped", metadata: ["app": "\(app)", "reason": "\(GitBackendTimeout(limit: Self.timeLimit))"])
                        try execution.send(signal: .kill)
                    }
                    group.addTask {
                        for try await buffer in body {
                            _ = try await execution.standardInputWriter.write(Array(buffer.readableBytesView))
                        }
                        try await execution.standardInputWriter.finish()
                    }
                    // git http-backend starts with CGI headers; the HTTP ones were set above.
                    var header = CGIHeaderStripper()
                    for try await chunk in execution.standardOutput {
                        let bytes = chunk.withUnsafeBytes { Array($0) }
                        let payload = header.consume(bytes)
                        if !payload.isEmpty { try await writer.write(ByteBuffer(bytes: payload)) }
                    }
                    group.cancelAll()
                    try await Self.waitIgnoringCancellation(&group)
                }
            }
            if !result.terminationStatus.isSuccess {
                logger.warning("git http-backend failed", metadata: ["app": "\(app)", "status": "\(result.terminationStatus)", "stderr": "\(result.standardError)"])
            }
            try await writer.finish(nil)
        })
    }

    /// How long one request to `git http-backend` may take, a push's build included
    /// (its phases have their own limits, 15 minutes for a compile).
    static let timeLimit: Duration = .seconds(60 * 60)

    /// Waits for the body writer and the timer of a finished request; the timer's cancellation is expected.
    static func waitIgnoringCancellation(_ group: inout ThrowingTaskGroup<Void, any Error>) async throws {
        while let next = await group.nextResult() {
            if case .failure(let error) = next, !(error is CancellationError) { throw error }
        }
    }

    /// The path of the running `kiln` binary, which the hook script executes
    /// (and sshd's forced command, in an authorized_keys line).
    public static let ownExecutable: String = {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }()
}

/// Drops the CGI header block (up to the first empty line) from the start of a byte stream.
struct CGIHeaderStripper {
    private var done = false
    private var pending: [UInt8] = []

    mutating func consume(_ bytes: [UInt8]) -> [UInt8] {
        if done { return bytes }
        pending += bytes
        for index in pending.indices {
            if pending[index] == 10 {
                if index >= 1, pending[index - 1] == 10 { return finish(after: index) }
                if index >= 2, pending[index - 1] == 13, pending[index - 2] == 10 { return finish(after: index) }
            }
        }
        return []
    }

    private mutating func finish(after index: Int) -> [UInt8] {
        done = true
        let rest = Array(pending[(index + 1)...])
        pending = []
        return rest
    }
}

/// `git http-backend` ran longer than ``GitHTTPBackend/timeLimit``.
struct GitBackendTimeout: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "git http-backend ran longer than \(limit.components.seconds / 60) minutes and was stopped" }
}
