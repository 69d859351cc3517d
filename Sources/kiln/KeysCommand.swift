import ArgumentParser
import Foundation
import KilnClient

/// `kiln keys create|public`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "API keys and the farm's public key.", subcommands: [Create.self, Public.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key for pushing to an app; the key is on the last line.")
        @Option(help: "The app the key is for.") var app: String

        func run() async throws {
            let data = try await KilnClient.fromEnvironment().send("POST", "api/apps/\(app)/keys")
            let created = try KilnClient.decoder.decode([String: String].self, from: data)
            emit("Created a key for \(app). It is shown once; push with git push http://kiln:KEY@HOST/\(app).git")
            emit(created["key"] ?? "")
        }
    }

    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the farm's Ed25519 public key (PEM), which verifies every slug.")

        func run() async throws {
            let data = try await KilnClient.fromEnvironment().send("GET", "api/farm/public-key")
            FileHandle.standardOutput.write(data)
        }
    }
}
