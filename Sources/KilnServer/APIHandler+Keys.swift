import Foundation
import Hummingbird
import KilnAPI
import KilnCatalog
import KilnHome

/// Keys over their life: an app's API keys and SSH keys listed, SSH keys
/// added, any key revoked, the administrator keys listed and the
/// administrator token rotated. Who may: an app's key for its own app's keys,
/// the administrator's for every key (docs/api.md, "Keys").
extension APIHandler {
    func listKeys(_ input: Operations.ListKeys.Input) async throws -> Operations.ListKeys.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        let apiKeys = try await catalog.apiKeys(app: try appName(app))
        let sshKeys = try await catalog.sshKeys(app: app)
        return .ok(.init(body: .json(apiKeys.map(Components.Schemas.Key.init) + sshKeys.map(Components.Schemas.Key.init))))
    }

    func addSSHKey(_ input: Operations.AddSSHKey.Input) async throws -> Operations.AddSSHKey.Output {
        let app = input.path.app
        // A key that may push may let another key push: the same power, which an administrator can take back.
        try await authorizer.requireApp(credentials, app: app)
        guard case .json(let body) = input.body else { throw HTTPError(.unsupportedMediaType) }
        let key = try SSHPublicKey(parsing: body.publicKey)
        let added = try await catalog.addSSHKey(app: try appName(app), key: key, addedBy: credentials?.key)
        return .created(.init(body: .json(.init(added))))
    }

    func revokeSSHKey(_ input: Operations.RevokeSSHKey.Input) async throws -> Operations.RevokeSSHKey.Output {
        let app = input.path.app
        try await authorizer.requireApp(credentials, app: app)
        let fingerprint = input.query.fingerprint
        // Only what a fingerprint can be reaches the database (a NUL byte cannot).
        guard fingerprint.hasPrefix("SHA256:"), fingerprint.utf8.count <= 64,
              fingerprint.dropFirst(7).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }) else {
            throw HTTPError(.notFound, message: "\(app) has no SSH key '\(fingerprint.prefix(80))': give its fingerprint SHA256:... as `kiln keys list --app \(app)` prints it")
        }
        let removed = try await catalog.revokeSSHKey(app: try appName(app), fingerprint: fingerprint)
        return .ok(.init(body: .json(.init(removed))))
    }

    func revokeKey(_ input: Operations.RevokeKey.Input) async throws -> Operations.RevokeKey.Output {
        let grant = try await authorizer.grant(credentials)
        let id = try KeyID(parsing: input.path.id)
        switch id {
        case .api(let number):
            guard let key = try await catalog.apiKey(id: number) else {
                throw HTTPError(.notFound, message: "there is no API key \(id): see `kiln keys list --app APP` or `kiln keys list --admin`")
            }
            try Self.require(grant, mayRevoke: id, of: key.app)
            return .ok(.init(body: .json(.init(try await catalog.revokeAPIKey(id: number)))))
        case .ssh(let number):
            guard let key = try await catalog.sshKey(id: number) else {
                throw HTTPError(.notFound, message: "there is no SSH key \(id): see `kiln keys list --app APP`")
            }
            try Self.require(grant, mayRevoke: id, of: key.app)
            return .ok(.init(body: .json(.init(try await catalog.revokeSSHKey(id: number)))))
        }
    }

    /// An administrator may revoke any key; an app's key, the keys of its own app (itself too).
    static func require(_ grant: Catalog.Grant, mayRevoke id: KeyID, of app: String?) throws {
        switch (grant, app) {
        case (.admin, _): return
        case (.app(let own), .some(let app)) where own == app: return
        case (_, nil): throw HTTPError(.forbidden, message: "\(id) is an administrator key: revoking it needs the administrator key (KILN_TOKEN in kiln.env)")
        default: throw HTTPError(.forbidden, message: "\(id) is not a key of this API key's app: an app's key revokes its own app's keys only")
        }
    }

    func listAdminKeys(_ input: Operations.ListAdminKeys.Input) async throws -> Operations.ListAdminKeys.Output {
        try await authorizer.requireAdmin(credentials)
        return .ok(.init(body: .json(try await catalog.apiKeys(app: nil).map(Components.Schemas.Key.init))))
    }

    func rotateAdminToken(_ input: Operations.RotateAdminToken.Input) async throws -> Operations.RotateAdminToken.Output {
        try await authorizer.requireAdmin(credentials)
        // requireAdmin refused a request without credentials.
        guard let presented = credentials?.key else { throw HTTPError(.unauthorized) }
        let (token, revoked) = try await catalog.rotateAdminKey(presented: presented)
        var answer = Components.Schemas.RotatedToken(token: token, revoked: revoked.id)
        // Only a kiln.env that holds the token just revoked: `kiln up` would otherwise start with a token that no longer works.
        // A failure to write it is reported, never thrown: the new token, shown once, must reach the caller.
        let file = configuration.layout.environmentFile
        if let environment = EnvironmentFile.read(file), environment.token == presented {
            do {
                try EnvironmentFile(server: environment.server, token: token).write(to: file)
                answer.environmentFile = file.path
            } catch {
                answer.environmentFileError = "\(file.path) still holds the revoked token: \(error); write the new token there by hand"
            }
        }
        return .created(.init(body: .json(answer)))
    }
}
