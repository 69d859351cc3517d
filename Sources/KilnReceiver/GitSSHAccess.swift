import Foundation
import KilnCatalog
import KilnHome

/// Decides whether an SSH key may run a git request, and what then runs.
/// Kiln's own SSH server and OpenSSH's forced command (`kiln ssh git`) both
/// ask it, so a push behaves the same whichever answered the connection, and
/// as it does over HTTP: the same repository, hook and build.
///
/// The key's apps are looked up per request, never cached: a revoked key or
/// a deleted app refuses the very next connection.
public struct GitSSHAccess: Sendable {
    let catalog: Catalog
    let repositories: RepositoryStore
    /// The hook's variables without the app (``PushSettings``).
    let settings: PushSettings

    public init(catalog: Catalog, repositories: RepositoryStore, settings: PushSettings) {
        self.catalog = catalog
        self.repositories = repositories
        self.settings = settings
    }

    /// The git program to run for `request` from the key `fingerprint`;
    /// throws with the message the client is shown when the key may not.
    public func invocation(for request: GitSSHRequest, fingerprint: String, gitProtocol: String? = nil) async throws -> GitInvocation {
        let allowed = try await catalog.sshKeyApps(fingerprint: fingerprint)
        // One answer for an app that does not exist and one the key is not for: a key learns nothing of other apps.
        guard allowed.contains(request.app), let app = try await catalog.app(named: request.app) else {
            throw ReceiverError("the SSH key \(fingerprint) may not use \(request.app).git: there is no such app, or the key is not one of its keys (kiln keys add --app \(request.app) --ssh-file KEY.pub)")
        }
        let repository = try await repositories.prepare(app: app.name, deployBranch: app.deployBranch)
        var environment = settings.variables(app: app.name)
        environment["KILN_PUSHER"] = "SSH key \(fingerprint)"
        // Git protocol v2, which the client asks for with an SSH `env` request.
        if let gitProtocol, gitProtocol.utf8.count <= 256, gitProtocol.allSatisfy({ $0.isASCII && !$0.isNewline }) {
            environment["GIT_PROTOCOL"] = gitProtocol
        }
        // `receive-pack`, not `git-receive-pack`: git's own subcommand, found however git is installed.
        let subcommand = String(request.service.rawValue.dropFirst(4))
        return GitInvocation(app: app.name, service: request.service, arguments: [subcommand, repository.path], environment: environment,
                             workingDirectory: repository.path)
    }
}

/// One git program to run for an SSH request: `git receive-pack PATH` or
/// `git upload-pack PATH`, with the push hook's variables.
public struct GitInvocation: Sendable, Equatable {
    public var app: String
    public var service: GitHTTPBackend.Service
    /// git's arguments (the program is `git`, on PATH).
    public var arguments: [String]
    /// Variables to add to the inherited environment.
    public var environment: [String: String]
    public var workingDirectory: String
}

/// The push hook's variables without the app: the database, the farm's home,
/// its object store and credentials, the fetch policy and the file limit.
///
/// The server uses them directly; for pushes that arrive through OpenSSH's
/// sshd it writes them to `HOME/ssh/push-settings.json` (owner-only) at
/// start, where `kiln ssh git` reads them: the forced command then needs
/// nothing but the home.
public struct PushSettings: Sendable, Equatable, Codable {
    public var variables: [String: String]

    /// From a hook environment (its app, and push flags, left out) and the
    /// server's own object-store credentials, which its hook inherits.
    public init(_ hook: PushHookEnvironment, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var variables = hook.variables
        for name in ["KILN_APP", "KILN_CLEAN", "KILN_HOT"] { variables[name] = nil }
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let value = environment[name], !value.isEmpty { variables[name] = value }
        }
        self.variables = variables
    }

    /// The hook's variables for a push to `app`, with the `kiln` binary the hook script runs.
    public func variables(app: String) -> [String: String] {
        var variables = variables
        variables["KILN_APP"] = app
        variables["KILN_EXECUTABLE"] = GitHTTPBackend.ownExecutable
        return variables
    }

    /// Writes them owner-only (``KilnHome/OwnerOnlyFile``), replacing the file whole.
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])  // farm-owned: the server's home
        try OwnerOnlyFile.write(try JSONEncoder().encode(self), to: url)
    }

    /// The database the hook writes to, which `kiln ssh` asks too.
    public func databaseURL() throws -> String {
        guard let url = variables["KILN_DATABASE_URL"], !url.isEmpty else {
            throw ReceiverError("the push settings name no database: restart the server to write them again")
        }
        return url
    }

    /// Reads them back; the error says how to make the file.
    public static func load(from url: URL) throws -> PushSettings {
        guard let data = FileManager.default.contents(atPath: url.path) else {  // farm-owned: the server's home
            throw ReceiverError("\(url.path) is missing or unreadable: start `kiln server --ssh-port PORT` or `kiln up` on this home first (it writes the push settings), and run this as the user that owns the home")
        }
        do {
            return try JSONDecoder().decode(PushSettings.self, from: data)
        } catch {
            throw ReceiverError("\(url.path) is not Kiln's push settings (\(error)): restart the server to write it again")
        }
    }
}
