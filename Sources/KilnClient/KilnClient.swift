import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `kiln` command's client for the REST API, configured by `KILN_SERVER`
/// and `KILN_TOKEN` (as `kiln up` writes them to `kiln.env`).
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

    /// Sends a request and returns the body of a 2xx answer; throws the server's message otherwise.
    public func send(_ method: String, _ path: String, query: [String: String] = [:], json: (any Encodable)? = nil, timeout: TimeInterval = 60) async throws -> Data {
        let (data, response) = try await perform(request(method, path, query: query, json: json, timeout: timeout))
        try Self.check(response, data: data, path: path)
        return data
    }

    /// Downloads to `destination`, streamed to disk.
    public func download(_ path: String, to destination: URL) async throws {
        try await Self.download(request("GET", path, query: [:], json: nil, timeout: 600), path: path, to: destination)
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
            try Self.check(response, data: data, path: path)
            return
        }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: temporary, to: destination)
    }

    /// Decodes a JSON answer.
    public func get<T: Decodable>(_ type: T.Type, _ path: String, query: [String: String] = [:], timeout: TimeInterval = 60) async throws -> T {
        try Self.decoder.decode(T.self, from: try await send("GET", path, query: query, timeout: timeout))
    }

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        // The server writes fractional seconds; accept whole seconds too.
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not an ISO 8601 date"))
        }
        return decoder
    }()

    func request(_ method: String, _ path: String, query: [String: String], json: (any Encodable)?, timeout: TimeInterval) throws -> URLRequest {
        var components = URLComponents(url: server.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        var request = URLRequest(url: components.url!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(json)
        }
        return request
    }

    func perform(_ request: URLRequest) async throws -> (Data, URLResponse) {
        do {
            return try await URLSession.shared.data(for: request)
        } catch {
            throw ClientError("cannot reach the Kiln server at \(server.absoluteString): \(error.localizedDescription); is `kiln up` running?")
        }
    }

    static func check(_ response: URLResponse, data: Data, path: String) throws {
        guard let http = response as? HTTPURLResponse else { throw ClientError("no HTTP answer for \(path)") }
        guard (200..<300).contains(http.statusCode) else {
            struct Failure: Decodable { struct Inner: Decodable { var message: String }; var error: Inner }
            let message = (try? JSONDecoder().decode(Failure.self, from: data))?.error.message
                ?? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClientError(message.isEmpty ? "the server answered \(http.statusCode) for \(path)" : message)
        }
    }
}

/// An error the `kiln` command prints as its one line.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
