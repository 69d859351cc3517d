import ArgumentParser
import Foundation
import KilnClient

/// `kiln admin rotate-token`: the administrator's own token over its life.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "admin", abstract: "The administrator token.", subcommands: [RotateToken.self])

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Replace the administrator token (KILN_TOKEN) with a new one, printed on the last line; the old one is refused at once.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let rotated = try await KilnClient.fromEnvironment().call { try await $0.rotateAdminToken().created.body.json }
            if json { try Output.json(rotated); return }
            emit("Revoked \(rotated.revoked), the token presented: it is refused from now on")
            if let file = rotated.environmentFile {
                emit("The server rewrote \(file) with the new token: run `. \(file)` in every shell that used the old one")
            } else if let problem = rotated.environmentFileError {
                emit("Warning: \(problem)")
            } else {
                emit("No kiln.env of the server held the old token: keep the new one where KILN_TOKEN comes from. It is shown once:")
            }
            emit(rotated.token)
        }
    }
}
