import Hummingbird
import KilnCatalog

/// Decides what a request may do from the key it presents.
struct Authorizer: Sendable {
    let catalog: Catalog

    /// The grant of the request's key; 401 with a basic-auth challenge when there is no valid key.
    func grant(_ request: Request) async throws -> (Credentials, Catalog.Grant) {
        guard let credentials = Credentials(request) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"kiln\""], message: "no API key: pass the app's key as the password (https://kiln:KEY@host/app.git) or as `Authorization: Bearer KEY`")
        }
        let grant = try await catalog.grant(for: credentials.key)
        guard grant != .none else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"kiln\""], message: "the API key is not valid: create one with `kiln keys create --app APP`")
        }
        return (credentials, grant)
    }

    /// Requires a key valid for `app` (its own or an administrator's).
    func requireApp(_ request: Request, app: String) async throws -> Credentials {
        let (credentials, grant) = try await grant(request)
        guard grant.allows(app: app) else {
            throw HTTPError(.forbidden, message: "this API key is not valid for the app \(app)")
        }
        return credentials
    }

    /// Requires an administrator key.
    func requireAdmin(_ request: Request) async throws {
        let (_, grant) = try await grant(request)
        guard grant == .admin else {
            throw HTTPError(.forbidden, message: "this needs the administrator key (KILN_TOKEN in kiln.env)")
        }
    }
}
