import ArgumentParser
import Foundation
import KilnClient
import KilnHome
import KilnSigning

/// `kiln keys create|add|list|revoke|public|rotate`: API keys and SSH keys (`KeysCommand+Lifecycle.swift`); `public` and `rotate` are the
/// older spellings of `kiln farm-keys public|rotate`, kept working.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "API keys and SSH keys, and the farm's public key (see also `kiln farm-keys`).", subcommands: [Create.self, Add.self, List.self, Revoke.self, Public.self, Rotate.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key for pushing to an app; the key is on the last line.")
        @Option(help: "The app the key is for.") var app: String

        func run() async throws {
            let created = try await KilnClient.fromEnvironment().call { try await $0.createKey(path: .init(app: app)).created.body.json }
            emit("Created a key for \(app). It is shown once; push with git push http://kiln:KEY@HOST/\(app).git")
            emit(created.key)
        }
    }

    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the farm's Ed25519 public key (PEM), which verifies every slug it signs; the same as `kiln farm-keys public`.")
        @Flag(help: "Also the retired keys, which verify the slugs signed before each rotation; never a revoked one.") var all = false

        func run() async throws {
            try await FarmKeysCommand.Public.print(all: all)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the farm's signing key in a home (run where the server's home is); the same as `kiln farm-keys rotate`, beside which `kiln farm-keys` lists and revokes keys.")
        @OptionGroup var home: HomeOptions

        func run() async throws {
            try FarmKeysCommand.Rotate.rotate(home: home.homeURL)
        }
    }
}
