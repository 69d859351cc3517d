import Foundation
import HTTPTypes

/// The secret a request presents: `Authorization: Bearer KEY`, or HTTP basic
/// with the key as password and any user name (so that git and `~/.netrc`
/// work as they do with Heroku).
struct Credentials: Sendable {
    let user: String
    let key: String

    /// The credentials of the API request being handled, set by ``CredentialsMiddleware``:
    /// the generated handlers see the request's typed input only, not its headers.
    @TaskLocal static var current: Credentials?

    init?(_ headers: HTTPFields) {
        guard let header = headers[.authorization] else { return nil }
        if header.lowercased().hasPrefix("bearer ") {
            user = "api"
            key = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if header.lowercased().hasPrefix("basic "),
                  let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                  let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") {
            user = String(text[..<colon])
            key = String(text[text.index(after: colon)...])
        } else {
            return nil
        }
        if key.isEmpty { return nil }
    }
}
