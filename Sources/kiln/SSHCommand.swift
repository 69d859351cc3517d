import ArgumentParser
import Foundation
import KilnCatalog
import KilnDatabase
import KilnHome
import KilnReceiver
import KilnSSH
import Logging

/// `kiln ssh`: git over OpenSSH's sshd, for operators who prefer it to Kiln's
/// own SSH server (and for RSA keys, which only sshd authenticates).
/// docs/operations.md, "git over SSH", has the sshd_config lines.
struct SSHCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh", abstract: "git over OpenSSH's sshd: the AuthorizedKeysCommand, its forced command, the host keys.",
        subcommands: [AuthorizedKeys.self, Git.self, HostKeys.self])

    /// sshd's `AuthorizedKeysCommand /usr/local/bin/kiln ssh authorized-keys --home HOME --user git %u %k`.
    struct AuthorizedKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "authorized-keys",
            abstract: "For sshd's AuthorizedKeysCommand: print the authorized_keys line of a key some app has, with the forced command, or nothing.")
        @OptionGroup var home: HomeOptions
        @Option(help: "The login user pushes use (e.g. git); other logins get no key, so a Kiln key never opens another account.") var user: String
        @Argument(help: "The login user (sshd's %u).") var login: String
        @Argument(help: "The offered key: its base64 (sshd's %k), or TYPE BASE64.") var key: [String]

        func run() async throws {
            // sshd reads standard output as authorized_keys lines: only the answer goes there, errors to stderr.
            let logger = KilnLogging.bootstrap(defaultLevel: .error)
            guard user == login else { return }
            let offered = try Self.publicKey(key)
            let settings = try PushSettings.load(from: KilnHome(home.homeURL).sshPushSettings)
            let apps = try await Database.with(url: try DatabaseURL(settings.databaseURL()), logger: logger) { database in
                try await Catalog(database: database).sshKeyApps(fingerprint: offered.fingerprint)
            }
            guard !apps.isEmpty else { return }
            let command = [GitHTTPBackend.ownExecutable, "ssh", "git", "--home", home.homeURL.path, "--key", offered.fingerprint]
            emit(GitSSHAccessLine.authorizedKeysLine(command: command, key: offered))
        }

        /// `%k` alone (the type is inside the key) or `TYPE BASE64`.
        static func publicKey(_ words: [String]) throws -> SSHPublicKey {
            switch words.count {
            case 1: return try SSHPublicKey(base64: words[0])
            case 2: return try SSHPublicKey(parsing: words.joined(separator: " "))
            default: throw ValidationError("give the key as sshd's %k, or as TYPE BASE64")
            }
        }
    }

    /// The forced command of an authorized key: runs the git of `SSH_ORIGINAL_COMMAND` for that key.
    struct Git: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "git", abstract: "The forced command sshd runs for a Kiln key (written by authorized-keys).")
        @OptionGroup var home: HomeOptions
        @Option(help: "The fingerprint of the key that logged in.") var key: String

        func run() async throws {
            let logger = KilnLogging.bootstrap(defaultLevel: .error)
            let environment = ProcessInfo.processInfo.environment
            let command = environment["SSH_ORIGINAL_COMMAND"] ?? ""
            do {
                let settings = try PushSettings.load(from: KilnHome(home.homeURL).sshPushSettings)
                let request = try GitSSHRequest(command: command)
                let invocation = try await Database.with(url: try DatabaseURL(settings.databaseURL()), logger: logger) { database in
                    try await GitSSHAccess(catalog: Catalog(database: database), repositories: RepositoryStore(root: KilnHome(home.homeURL).repositories),
                                           settings: settings).invocation(for: request, fingerprint: key, gitProtocol: environment["GIT_PROTOCOL"])
                }
                try GitSSHAccessLine.exec(invocation)
            } catch let error as ReceiverError {
                FileHandle.standardError.write(Data("kiln: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// The host keys of Kiln's own SSH server, for clients' known_hosts.
    struct HostKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "host-keys", abstract: "Print the SSH server's host keys (TYPE BASE64 FINGERPRINT), made on first use.")
        @OptionGroup var home: HomeOptions

        func run() async throws {
            for key in try SSHHostKeys.loadOrCreate(home: KilnHome(home.homeURL)).keys {
                emit("\(key.publicLine) \(key.fingerprint)")
            }
        }
    }
}

/// What the OpenSSH mode writes and runs.
enum GitSSHAccessLine {
    /// `command="…",restrict TYPE BASE64`: the key may run that command only,
    /// with no terminal, forwarding or agent (`restrict`).
    static func authorizedKeysLine(command: [String], key: SSHPublicKey) -> String {
        // sshd hands the command to the login shell: each word single-quoted; inside the option's double quotes, \" escaped (sshd unescapes nothing else).
        let shell = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let option = shell.replacingOccurrences(of: "\"", with: "\\\"")
        return "command=\"\(option)\",restrict \(key.line)"
    }

    /// Becomes `git` with the invocation's arguments and variables (this
    /// process's standard streams are the SSH session's). The environment is
    /// made anew: sshd passes on whatever its `AcceptEnv` let the client set,
    /// and a client's `GIT_CONFIG_PARAMETERS` or `GIT_CONFIG_COUNT` would
    /// configure git (a hook, a pack command) for it.
    static func exec(_ invocation: GitInvocation) throws -> Never {
        let inherited = ProcessInfo.processInfo.environment
        var environment = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
        if let home = inherited["HOME"] { environment["HOME"] = home }
        for (name, value) in invocation.environment { environment[name] = value }
        // farm-owned: the app's repository, as the access check prepared it.
        guard chdir(invocation.workingDirectory) == 0 else {
            throw ReceiverError("cannot enter \(invocation.workingDirectory): \(String(cString: strerror(errno)))")
        }
        let candidates: [String] = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/git" }
        let path = candidates.first { Glibc.access($0, X_OK) == 0 } ?? "/usr/bin/git"
        let argv = ([path] + invocation.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(path, argv, envp)
        throw ReceiverError("cannot run git: \(String(cString: strerror(errno)))")
    }
}
