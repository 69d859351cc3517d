import ArgumentParser
import Foundation
import KilnCatalog
import KilnClient

/// `kiln apps create|list`.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apps", abstract: "Create and list apps.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an app; prints its git remote URL.")
        @Argument(help: "The app's name: lowercase letters, digits and dashes.") var name: String
        @Option(help: "The branch whose pushes are built.") var branch: String = "main"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            struct Body: Encodable { var name: String; var branch: String }
            struct Created: Codable { var name: String; var deploy_branch: String; var git_url: String }
            let data = try await KilnClient.fromEnvironment().send("POST", "api/apps", json: Body(name: name, branch: branch))
            let created = try KilnClient.decoder.decode(Created.self, from: data)
            if json { try Output.json(created); return }
            emit("Created \(created.name) (deploy branch \(created.deploy_branch))")
            emit(created.git_url)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List apps.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let apps = try await KilnClient.fromEnvironment().get([App].self, "api/apps")
            if json { try Output.json(apps); return }
            Output.table(["NAME", "BRANCH", "CREATED"], apps.map { [$0.name, $0.deployBranch, Output.time($0.createdAt)] })
        }
    }
}
