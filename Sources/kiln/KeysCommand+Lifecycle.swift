import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln keys add|list|revoke`: SSH keys added, both kinds of key listed
/// and revoked (docs/api.md, "Keys").
extension KeysCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an SSH public key that may push to and clone an app; prints its id and fingerprint.")
        @Option(help: "The app the key may push to.") var app: String
        @Option(help: "The public key line, as a .pub file holds it: \"ssh-ed25519 AAAA... you@host\".") var ssh: String?
        @Option(help: "A public key file (a .pub file), instead of --ssh.") var sshFile: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (ssh == nil) != (sshFile == nil) else {
                throw ValidationError("give exactly one of --ssh \"ssh-ed25519 AAAA... you@host\" and --ssh-file KEY.pub")
            }
        }

        func run() async throws {
            let line = try ssh ?? Self.read(sshFile ?? "")
            // Refused here, before it leaves this machine: a private key must never reach the farm.
            guard !line.contains("PRIVATE KEY") else {
                throw ValidationError("this is a private SSH key: give its public half (the .pub file, or `ssh-keygen -y -f KEY`), which is all the farm needs; nothing was sent")
            }
            let added = try await KilnClient.fromEnvironment().call {
                try await $0.addSSHKey(path: .init(app: app), body: .json(.init(publicKey: line))).created.body.json
            }
            if json { try Output.json(added); return }
            let comment = (added.comment ?? "").isEmpty ? "" : ", \(added.comment ?? "")"
            emit("Added SSH key \(added.id) to \(app): \(added.fingerprint ?? "?") (\(added.keyType ?? "?")\(comment))")
            if added.builtInServer == false {
                emit("Note: Kiln's own SSH server (swift-nio-ssh) cannot authenticate \(added.keyType ?? "this") keys: this key pushes only through the OpenSSH mode "
                     + "(`kiln ssh authorized-keys` as sshd's AuthorizedKeysCommand, docs/operations.md); for Kiln's SSH port add an Ed25519 key (`ssh-keygen -t ed25519`)")
            }
        }

        /// The key file's text, read with a cap: a public key is one short line.
        static func read(_ path: String) throws -> String {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ValidationError("cannot read \(path): give the public key file (KEY.pub), e.g. ~/.ssh/id_ed25519.pub")
            }
            defer { try? handle.close() }
            let data = try handle.read(upToCount: 64 * 1024) ?? Data()
            guard let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("\(path) is not a text file: give the public key file (KEY.pub), e.g. ~/.ssh/id_ed25519.pub")
            }
            return text
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an app's API keys and SSH keys (never a secret), or the administrator keys.")
        @Option(help: "The app whose keys to list.") var app: String?
        @Flag(help: "The administrator keys instead (administrators).") var admin = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (app == nil) == admin else { throw ValidationError("give exactly one of --app APP and --admin") }
        }

        func run() async throws {
            let keys = try await KilnClient.fromEnvironment().call { client in
                if let app { return try await client.listKeys(path: .init(app: app)).ok.body.json }
                return try await client.listAdminKeys().ok.body.json
            }
            if json { try Output.json(keys); return }
            Output.table(["ID", "KIND", "CREATED", "FINGERPRINT", "TYPE", "COMMENT"], keys.map { key in
                [key.id, key.kind == .api ? (key.app == nil ? "admin" : "api") : "ssh", Output.time(key.createdAt),
                 key.fingerprint ?? "-", key.keyType ?? "-", key.comment ?? ""]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key or remove an SSH key; it is refused from its next request or push on.")
        @Argument(help: "key-N or ssh-N, as `kiln keys list` prints it; or an SSH key's fingerprint SHA256:... with --app.") var id: String
        @Option(help: "The app to remove the SSH key from (with a fingerprint); with key-N or ssh-N, checked to be the key's app.") var app: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if id.hasPrefix("SHA256:"), app == nil {
                throw ValidationError("an SSH key may be on several apps: give --app APP to say which to remove \(id) from")
            }
        }

        func run() async throws {
            let client = try KilnClient.fromEnvironment()
            let revoked: Components.Schemas.Key
            if id.hasPrefix("SHA256:"), let app {
                revoked = try await client.call { try await $0.revokeSSHKey(path: .init(app: app), query: .init(fingerprint: id)).ok.body.json }
            } else {
                if let app {
                    // A mistyped id must not revoke another app's key: look before revoking.
                    let keys = try await client.call { try await $0.listKeys(path: .init(app: app)).ok.body.json }
                    guard keys.contains(where: { $0.id == id }) else {
                        throw ValidationError("\(id) is not one of \(app)'s keys (see `kiln keys list --app \(app)`): nothing was revoked")
                    }
                }
                revoked = try await client.call { try await $0.revokeKey(path: .init(id: id)).ok.body.json }
            }
            if json { try Output.json(revoked); return }
            let owner = revoked.app.map { "of \($0)" } ?? "(an administrator key)"
            switch revoked.kind {
            case .api: emit("Revoked API key \(revoked.id) \(owner): it is refused from now on")
            case .ssh: emit("Removed SSH key \(revoked.id) (\(revoked.fingerprint ?? "?")) from \(revoked.app ?? "?"): it can no longer push or clone")
            }
        }
    }
}
