import ArgumentParser
import Foundation
import KilnClient

/// `kiln apps delete`.
extension AppsCommand {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an app (administrators): its repository, keys, config and cache go, its builds are cancelled; its releases are kept unless --purge.")
        @Argument(help: "The app.") var name: String
        @Option(help: "The app's name again, to confirm.") var confirm: String
        @Flag(help: "Also delete its builds, logs and releases, and free its name.") var purge = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard confirm == name else {
                throw ValidationError("--confirm must repeat the app's name (`kiln apps delete \(name) --confirm \(name)`), not '\(confirm)': nothing was deleted")
            }
        }

        func run() async throws {
            let deleted = try await KilnClient.fromEnvironment().call {
                try await $0.deleteApp(path: .init(app: name), query: .init(confirm: confirm, purge: purge)).ok.body.json
            }
            if json { try Output.json(deleted); return }
            let cancelled = deleted.cancelledBuilds.isEmpty ? "no build was running or queued" : "cancelled \(deleted.cancelledBuilds.joined(separator: ", "))"
            emit("Deleted \(deleted.app): \(deleted.keysRemoved) key(s) removed, \(deleted.repositoryRemoved ? "repository removed" : "no repository"), \(cancelled)")
            if deleted.purged {
                emit("Purged: its builds, logs and releases are gone, and the name \(deleted.app) is free")
            } else {
                emit("Its \(deleted.releasesKept) release(s) are kept for the release service (`kiln releases --app \(deleted.app)`); "
                     + "`kiln apps delete \(deleted.app) --confirm \(deleted.app) --purge` deletes them and frees the name")
            }
        }
    }
}
