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
        static let configuration = CommandConfiguration(abstract: "Set config vars (KEY=VALUE ...) as one new config version, released at once.")
        @Option(help: "The app.") var app: String
        @Argument(help: "KEY=VALUE pairs.") var pairs: [String]
        @Flag(help: "Make no release: the next release (a push, another config change) takes this change too.") var noRelease = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var vars: [String: String] = [:]
            for pair in pairs {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("'\(pair)' is not KEY=VALUE")
                }
                vars[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            ConfigCommand.print(try await ConfigCommand.change(app: app, .init(set: .init(additionalProperties: vars), release: !noRelease)), json: json, noRelease: noRelease)
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove config vars as one new config version, released at once.")
        @Option(help: "The app.") var app: String
        @Argument(help: "Names of the vars to remove.") var names: [String]
        @Flag(help: "Make no release: the next release (a push, another config change) takes this change too.") var noRelease = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            ConfigCommand.print(try await ConfigCommand.change(app: app, .init(unset: names, release: !noRelease)), json: json, noRelease: noRelease)
        }
    }

    static func change(app: String, _ change: Components.Schemas.ConfigChange) async throws -> Components.Schemas.ChangedConfig {
        try await KilnClient.fromEnvironment().call { try await $0.changeConfig(path: .init(app: app), body: .json(change)).ok.body.json }
    }

    /// The new config version, then the release it made (or why none).
    static func print(_ changed: Components.Schemas.ChangedConfig, json: Bool, noRelease: Bool) {
        if json { try? Output.json(changed); return }
        print(changed.value1, json: false)
        if let release = changed.value2.release {
            emit("-----> Released \(release.app) v\(release.version): \(release.description)")
        } else {
            let why = noRelease ? "--no-release" : "\(changed.value1.app) has no release yet"
            emit("-----> No release (\(why)): the next release takes config v\(changed.value1.version)")
        }
    }

    static func print(_ config: Components.Schemas.ConfigVersion, json: Bool) {
        if json { try? Output.json(config); return }
        emit("=== \(config.app) config v\(config.version)")
        let vars = config.vars.additionalProperties
        for name in vars.keys.sorted() { emit("\(name)=\(vars[name]!)") }
    }
}
