import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import KilnAPI
import OpenAPIRuntime

/// The generated client's transport: one URLSession request per operation,
/// with the key as `Authorization: Bearer`. The API's JSON bodies are small
/// and whole (a log page, not a stream: followers long-poll), so bodies are
/// collected, up to 16 MiB. An answer other than 2xx throws ``ClientError``
/// with the server's message (`{"error": {"message": …}}`), which `kiln` prints.
struct URLSessionClientTransport: ClientTransport {
    let server: URL
    let token: String?
    let timeout: TimeInterval

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        let path = request.path ?? "/"
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + path) else { throw ClientError("\(base + path) is not a URL: check KILN_SERVER") }
        var urlRequest = URLRequest(url: url, timeoutInterval: timeout)
        urlRequest.httpMethod = request.method.rawValue
        for field in request.headerFields { urlRequest.addValue(field.value, forHTTPHeaderField: field.name.rawName) }
        if let token { urlRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { urlRequest.httpBody = try await Data(collecting: body, upTo: 16 << 20) }
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: urlRequest)
        } catch {
            throw ClientError("cannot reach the Kiln server at \(server.absoluteString): \(error.localizedDescription); is `kiln up` running?")
        }
        try Self.check(response, data: data, path: path)
        guard let http = response as? HTTPURLResponse else { throw ClientError("no HTTP answer for \(path)") }
        var fields = HTTPFields()
        for (name, value) in http.allHeaderFields {
            guard let text = name as? String, let name = HTTPField.Name(text), let value = value as? String else { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        return (HTTPResponse(status: .init(code: http.statusCode), headerFields: fields), HTTPBody(data))
    }

    /// Throws the server's message for an answer other than 2xx.
    static func check(_ response: URLResponse, data: Data, path: String) throws {
        guard let http = response as? HTTPURLResponse else { throw ClientError("no HTTP answer for \(path)") }
        guard (200..<300).contains(http.statusCode) else {
            let message = (try? JSONDecoder().decode(Components.Schemas._Error.self, from: data))?.error.message
                ?? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClientError(message.isEmpty ? "the server answered \(http.statusCode) for \(path)" : message)
        }
    }
}
