import ArgumentParser
import Foundation
import KilnClient
import KilnHome
import KilnSigning

/// `kiln keys create|public`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "API keys and the farm's public key.", subcommands: [Create.self, Public.self, Rotate.self])

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
        static let configuration = CommandConfiguration(abstract: "Print the farm's Ed25519 public key (PEM), which verifies every slug it signs.")
        @Flag(help: "Also the keys it replaced, which verify the slugs signed before each rotation.") var all = false

        func run() async throws {
            let pem = try await KilnClient.fromEnvironment().call {
                try await KilnClient.text(all ? try $0.farmPublicKeys().ok.body.plainText : try $0.farmPublicKey().ok.body.plainText)
            }
            try? FileHandle.standardOutput.write(contentsOf: Data(pem.utf8))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the farm's signing key in a home (run where the server's home is); the old public key is kept for verifying.")
        @OptionGroup var home: HomeOptions

        func run() async throws {
            let keyFile = KilnHome(home.homeURL).farmKey
            let (retired, current) = try FarmKeyring.rotate(at: keyFile)
            emit("Farm key \(retired.id) retired (its public key: \(FarmKeyring.retiredDirectory(beside: keyFile).path)/\(retired.id).pub.pem)")
            emit("Farm key \(current.publicKey.id) signs from now on: copy \(keyFile.path) to every worker's home, then restart the servers and the workers")
        }
    }
}
