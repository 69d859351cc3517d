import ArgumentParser
import Foundation
import KilnAPI
import KilnClient
import KilnHome
import KilnSigning

/// `kiln farm-keys list|rotate|revoke|public`: the farm's signing keys.
/// `rotate` and `revoke` change a home's `keys/` (run them where the
/// server's home is); `list` and `public` ask the server, or read a home.
struct FarmKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "farm-keys", abstract: "The farm's Ed25519 signing keys: list, rotate, revoke after a compromise, print the public ones.",
        subcommands: [List.self, Rotate.self, Revoke.self, Public.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the farm's keys: current (signs), retired (verifies what it signed), revoked (verifies nothing), and since when.")
        @Option(help: "Read this home's keys/ instead of asking KILN_SERVER (where the server's home is).") var home: String?
        @Flag(help: "Print JSON, as GET /api/farm/keys answers.") var json = false

        func run() async throws {
            let keys: [Components.Schemas.FarmKey]
            if let home {
                keys = try FarmKeyring.load(keyFile: KilnHome(URL(fileURLWithPath: home).standardizedFileURL).farmKey).keys.map(Components.Schemas.FarmKey.init)
            } else {
                keys = try await KilnClient.fromEnvironment().call { try await $0.listFarmKeys().ok.body.json }
            }
            if json { try Output.json(keys); return }
            Output.table(["ID", "STATE", "SINCE", "REASON"], keys.map { [$0.id, $0.state.rawValue, Output.time($0.since), $0.reason ?? ""] })
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the farm's signing key in a home (run where the server's home is); the old public key is kept for verifying.")
        @OptionGroup var home: HomeOptions

        func run() async throws {
            try Self.rotate(home: home.homeURL)
        }

        /// What `kiln farm-keys rotate` and `kiln keys rotate` do.
        static func rotate(home: URL) throws {
            let keyFile = KilnHome(home).farmKey
            let (retired, current) = try FarmKeyring.rotate(at: keyFile)
            emit("Farm key \(retired.id) retired (its public key: \(FarmKeyring.retiredDirectory(beside: keyFile).path)/\(retired.id).pub.pem)")
            emit("Farm key \(current.publicKey.id) signs from now on: copy \(keyFile.deletingLastPathComponent().path)/ (farm-ed25519.pem, retired/, revoked/) to every worker's home, then restart the servers and the workers")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Revoke a retired farm key after a compromise, in a home (run where the server's home is): nothing it signed verifies any more. \
            The current key cannot be revoked: rotate first, then revoke the id it retired.
            """)
        @Argument(help: "The key's id, as `kiln farm-keys list` shows it (a manifest's key_id).") var id: String
        @Option(help: "Why, one line: shown by every refusal of what the key signed.") var reason: String?
        @OptionGroup var home: HomeOptions

        func run() async throws {
            let keyFile = KilnHome(home.homeURL).farmKey
            let requested = reason
            let (revoked, already) = try FarmKeyring.revoke(id, reason: requested, keyFile: keyFile)
            let when = Output.time(revoked.since), why = revoked.reason.map { " (\($0))" } ?? ""
            if already {
                let kept = requested != nil && requested != revoked.reason ? "; its first reason is kept" : ""
                emit("Farm key \(revoked.id) was already revoked at \(when)\(why): nothing changed\(kept)")
                return
            }
            let revokedDirectory = FarmKeyring.revokedDirectory(beside: keyFile).path
            emit("Farm key \(revoked.id) revoked at \(when)\(why): nothing it signed verifies any more (recorded in \(revokedDirectory)/\(revoked.id).json)")
            emit("Servers on this home refuse it at once: copy \(revokedDirectory)/ to every other host's keys/, then restart the workers (they read it at start)")
            emit("Rebuild what it signed: `kiln builds retry ID` of each app's running release (`kiln releases --app A`), and export its images again")
        }
    }

    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the farm's Ed25519 public key (PEM), which verifies every slug it signs.")
        @Flag(help: "Also the retired keys, which verify the slugs signed before each rotation; never a revoked one.") var all = false

        func run() async throws {
            try await Self.print(all: all)
        }

        /// What `kiln farm-keys public` and `kiln keys public` do.
        static func print(all: Bool) async throws {
            let pem = try await KilnClient.fromEnvironment().call {
                try await KilnClient.text(all ? try $0.farmPublicKeys().ok.body.plainText : try $0.farmPublicKey().ok.body.plainText)
            }
            try? FileHandle.standardOutput.write(contentsOf: Data(pem.utf8))
        }
    }
}

extension Components.Schemas.FarmKey {
    /// The wire form of a home's key, so that `list --home` prints what the server would.
    init(_ status: FarmKeyStatus) {
        let state: Components.Schemas.FarmKeyState = switch status.state {
        case .current: .current
        case .retired: .retired
        case .revoked: .revoked
        }
        self.init(id: status.id, state: state, publicKey: status.publicKey?.pem, since: status.since,
                  revokedAt: status.state == .revoked ? status.since : nil, reason: status.reason)
    }
}
