import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln config [set|unset]`: an app's config vars, given to its builds in ENV_DIR.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show, set and unset an app's config vars.",
        subcommands: [Show.self, Set.self, Unset.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the app's config vars.")
        @Option(help: "The app.") var app: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let config = try await KilnClient.fromEnvironment().call { try await $0.getConfig(path: .init(app: app)).ok.body.json }
            ConfigCommand.print(config, json: json)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set config vars (KEY=VALUE ...) as one new config version.")
        @Option(help: "The app.") var app: String
        @Argument(help: "KEY=VALUE pairs.") var pairs: [String]
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var vars: [String: String] = [:]
            for pair in pairs {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("'\(pair)' is not KEY=VALUE")
                }
                vars[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            ConfigCommand.print(try await ConfigCommand.change(app: app, .init(set: .init(additionalProperties: vars))), json: json)
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove config vars as one new config version.")
        @Option(help: "The app.") var app: String
        @Argument(help: "Names of the vars to remove.") var names: [String]
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            ConfigCommand.print(try await ConfigCommand.change(app: app, .init(unset: names)), json: json)
        }
    }

    static func change(app: String, _ change: Components.Schemas.ConfigChange) async throws -> Components.Schemas.ConfigVersion {
        try await KilnClient.fromEnvironment().call { try await $0.changeConfig(path: .init(app: app), body: .json(change)).ok.body.json }
    }

    static func print(_ config: Components.Schemas.ConfigVersion, json: Bool) {
        if json { try? Output.json(config); return }
        emit("=== \(config.app) config v\(config.version)")
        let vars = config.vars.additionalProperties
        for name in vars.keys.sorted() { emit("\(name)=\(vars[name]!)") }
    }
}
