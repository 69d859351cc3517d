import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln apps create|list|show|set|delete`.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apps", abstract: "Create, list and configure apps.", subcommands: [Create.self, List.self, Show.self, Set.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an app; prints its git remote URL.")
        @Argument(help: "The app's name: lowercase letters, digits and dashes.") var name: String
        @Option(help: "The branch whose pushes are built.") var branch: String = "main"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            struct Created: Codable { var name: String; var deploy_branch: String; var git_url: String }
            let app = try await KilnClient.fromEnvironment().call { try await $0.createApp(body: .json(.init(name: name, branch: branch))).created.body.json }
            let created = Created(name: app.value1.name, deploy_branch: app.value1.deployBranch, git_url: app.value2.gitUrl)
            if json { try Output.json(created); return }
            emit("Created \(created.name) (deploy branch \(created.deploy_branch))")
            emit(created.git_url)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List apps.")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let apps = try await KilnClient.fromEnvironment().call { try await $0.listApps().ok.body.json }
            if json { try Output.json(apps); return }
            Output.table(["NAME", "BRANCH", "STACK", "CREATED"], apps.map { [$0.name, $0.deployBranch, $0.stack, Output.time($0.createdAt)] })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an app's build settings.")
        @Argument(help: "The app.") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let app = try await KilnClient.fromEnvironment().call { try await $0.getApp(path: .init(app: name)).ok.body.json }
            if json { try Output.json(app); return }
            Output.table(["SETTING", "VALUE"], [
                ["name", app.name], ["deploy branch", app.deployBranch], ["stack", app.stack],
                ["build network", app.buildNetwork ? "on" : "off"], ["source dir", app.sourceDir ?? "(the whole tree)"],
                ["cache key files", app.cacheKeyFiles.isEmpty ? "(the builder's only)" : app.cacheKeyFiles.joined(separator: ", ")],
                ["release webhook", app.releaseWebhook ?? "(none)"], ["docker build args", app.dockerBuildArgs ? "on" : "off"],
                ["export image", app.exportImage ? "on" : "off"], ["created", Output.time(app.createdAt)],
            ])
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an app's build settings (administrators).")
        @Option(help: "The app.") var app: String
        @Option(help: "on: builds may reach the network (to fetch dependencies); off: they may not.") var buildNetwork: Switch?
        @Option(help: "Build this subdirectory of the pushed tree as the app (a monorepo); \"\" for the whole tree.") var sourceDir: String?
        @Option(parsing: .upToNextOption, help: "Files of the app whose contents also key its dependency cache (e.g. .tool-versions); \"\" for none.")
        var cacheKeyFiles: [String] = []
        @Option(help: "Where each release is handed off (POST, signed); \"\" to stop.") var releaseWebhook: String?
        @Option(help: "The secret hand-offs are signed with (HMAC-SHA256: X-Kiln-Signature over a timestamp and the body, and X-Kiln-Signature-256); at least 16 characters.") var releaseWebhookSecret: String?
        @Option(help: "on: a Dockerfile build gets the app's config vars as build args (they stay in the image's history); off: it does not.")
        var dockerBuildArgs: Switch?
        @Option(help: "on: each buildpack build's slug is also pushed as an OCI image; off: slugs only.") var exportImage: Switch?
        @Option(help: "The stack buildpack builds run on: host (the worker's own system) or a stack the workers have (docs/operations.md, \"Stacks\").")
        var stack: String?
        @Flag(help: "Print JSON.") var json = false

        enum Switch: String, ExpressibleByArgument { case on, off }

        func run() async throws {
            guard buildNetwork != nil || sourceDir != nil || !cacheKeyFiles.isEmpty || releaseWebhook != nil || releaseWebhookSecret != nil
                    || dockerBuildArgs != nil || exportImage != nil || stack != nil else {
                throw ValidationError("give --build-network on|off, --source-dir DIR, --cache-key-files FILE..., --docker-build-args on|off, --export-image on|off, --stack NAME and/or --release-webhook URL --release-webhook-secret S")
            }
            let keyFiles = cacheKeyFiles.isEmpty ? nil : cacheKeyFiles.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
            let settings = Components.Schemas.AppSettings(
                buildNetwork: buildNetwork.map { $0 == .on }, sourceDir: sourceDir, cacheKeyFiles: keyFiles,
                releaseWebhook: releaseWebhook, releaseWebhookSecret: releaseWebhookSecret,
                dockerBuildArgs: dockerBuildArgs.map { $0 == .on }, exportImage: exportImage.map { $0 == .on }, stack: stack)
            let updated = try await KilnClient.fromEnvironment().call { try await $0.updateApp(path: .init(app: app), body: .json(settings)).ok.body.json }
            if json { try Output.json(updated); return }
            emit("\(updated.name): build network \(updated.buildNetwork ? "on" : "off"), source dir \(updated.sourceDir ?? "(the whole tree)"), "
                 + "cache key files \(updated.cacheKeyFiles.isEmpty ? "(the builder's only)" : updated.cacheKeyFiles.joined(separator: ", ")), "
                 + "release webhook \(updated.releaseWebhook ?? "(none)"), docker build args \(updated.dockerBuildArgs ? "on" : "off"), "
                 + "export image \(updated.exportImage ? "on" : "off"), stack \(updated.stack)")
        }
    }
}
