import Hummingbird
import KilnCatalog

/// Decides what a request may do from the key it presents.
struct Authorizer: Sendable {
    let catalog: Catalog

    /// The API's 401 challenge. Bearer, not Basic: FoundationNetworking's
    /// URLSession (the `kiln` command's) hangs on a Basic challenge it has no
    /// credential for, instead of handing back the 401 and its message. Git's
    /// routes answer Basic, which git needs to send the key (``GitRoutes``).
    static let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"kiln\""]

    /// The grant of a key; 401 with a challenge (``challenge``) when there is no valid key.
    func grant(_ credentials: Credentials?) async throws -> Catalog.Grant {
        guard let credentials else {
            throw HTTPError(.unauthorized, headers: Self.challenge, message: "no API key: pass the app's key as the password (https://kiln:KEY@host/app.git) or as `Authorization: Bearer KEY`")
        }
        let grant = try await catalog.grant(for: credentials.key)
        guard grant != .none else {
            throw HTTPError(.unauthorized, headers: Self.challenge, message: "the API key is not valid (unknown, revoked, or its app was deleted): ask an administrator for one, `kiln keys create --app APP`")
        }
        return grant
    }

    /// Requires a key valid for `app` (its own or an administrator's).
    @discardableResult
    func requireApp(_ credentials: Credentials?, app: String) async throws -> Credentials? {
        guard try await grant(credentials).allows(app: app) else {
            throw HTTPError(.forbidden, message: "this API key is not valid for the app \(app)")
        }
        return credentials
    }

    /// Requires what may report `app`'s deploy status: the request's body
    /// signed with the app's webhook secret (a ``SignedStatusReport`` for
    /// that app and that operation), or a key valid for `app`.
    func requireStatusReporter(_ credentials: Credentials?, app: String) async throws {
        if let signed = SignedStatusReport.current, signed.operationID == StatusSignatureMiddleware.operationID, signed.app == app { return }
        try await requireApp(credentials, app: app)
    }

    /// Requires an administrator key.
    func requireAdmin(_ credentials: Credentials?) async throws {
        guard try await grant(credentials) == .admin else {
            throw HTTPError(.forbidden, message: "this needs the administrator key (KILN_TOKEN in kiln.env)")
        }
    }

    /// Requires a key valid for `app`, presented in a hand-registered route's request; returns it.
    func requireApp(_ request: Request, app: String) async throws -> Credentials {
        let credentials = Credentials(request.headers)
        try await requireApp(credentials, app: app)
        // grant(_:) refused a request without credentials.
        guard let credentials else { throw HTTPError(.unauthorized) }
        return credentials
    }
}
