import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KilnAPI
import OpenAPIRuntime

/// The `kiln` command's client for the REST API, configured by `KILN_SERVER`
/// and `KILN_TOKEN` (as `kiln up` writes them to `kiln.env`). JSON operations
/// go through the client generated from docs/openapi.yaml (``call(timeout:_:)``);
/// build artifacts and signed slugs are downloaded straight to disk
/// (``download(_:to:)``), which the generated client, holding a body in memory, would not do.
public struct KilnClient: Sendable {
    public let server: URL
    public let token: String?

    public init(server: URL, token: String?) {
        self.server = server
        self.token = token
    }

    /// Reads `KILN_SERVER` and `KILN_TOKEN`; the error says what to set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KilnClient {
        guard let text = environment["KILN_SERVER"], let url = URL(string: text) else {
            throw ClientError("KILN_SERVER is not set: run `. HOME/kiln.env` after `kiln up`, or export KILN_SERVER=http://HOST:PORT")
        }
        return KilnClient(server: url, token: environment["KILN_TOKEN"])
    }

    /// Runs `operation` on the generated client, with requests that give up after `timeout` seconds.
    /// Throws ``ClientError`` with the server's message for an answer other than 2xx,
    /// or with what to check when the server cannot be reached.
    public func call<T: Sendable>(timeout: TimeInterval = 60, _ operation: (Client) async throws -> T) async throws -> T {
        let client = Client(serverURL: server, configuration: APIFormat.configuration,
                            transport: URLSessionClientTransport(server: server, token: token, timeout: timeout))
        do {
            return try await operation(client)
        } catch let error as OpenAPIRuntime.ClientError {
            if let ours = error.underlyingError as? ClientError { throw ours }
            throw ClientError("the server's answer to \(error.operationID) is not the one docs/openapi.yaml describes: \(error.underlyingError)")
        }
    }

    /// A text body (a PEM), read whole: it is small.
    public static func text(_ body: HTTPBody) async throws -> String {
        String(decoding: try await Data(collecting: body, upTo: 1 << 20), as: UTF8.self)
    }

    /// Downloads `path` (relative to the server) to `destination`, streamed to disk.
    public func download(_ path: String, to destination: URL) async throws {
        var request = URLRequest(url: server.appendingPathComponent(path), timeoutInterval: 600)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        try await Self.download(request, path: path, to: destination)
    }

    /// Downloads a URL that carries its own authorisation (a signed slug URL).
    public static func download(_ url: URL, to destination: URL) async throws {
        try await download(URLRequest(url: url, timeoutInterval: 600), path: url.path, to: destination)
    }

    static func download(_ request: URLRequest, path: String, to destination: URL) async throws {
        let (temporary, response) = try await URLSession.shared.download(for: request)
        guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
            let data = (try? Data(contentsOf: temporary)) ?? Data()
            try? FileManager.default.removeItem(at: temporary)
            try URLSessionClientTransport.check(response, data: data, path: path)
            return
        }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: temporary, to: destination)
    }
}

/// An error the `kiln` command prints as its one line.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
