import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln builds list|show|cancel`.
struct BuildsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "builds", abstract: "List, show and cancel builds.", subcommands: [List.self, Show.self, Create.self, Cancel.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List builds, newest first.")
        @Option(help: "Only this app's builds.") var app: String?
        @Option(help: "At most this many.") var limit: Int = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let builds = try await KilnClient.fromEnvironment().call { try await $0.listBuilds(query: .init(app: app, limit: limit)).ok.body.json }
            if json { try Output.json(builds); return }
            Output.table(["ID", "APP", "STATE", "COMMIT", "CREATED", "ERROR"], Output.buildRows(builds))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one build.")
        @Argument(help: "The build id (b-N).") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let build = try await KilnClient.fromEnvironment().call { try await $0.getBuild(path: .init(id: id)).ok.body.json }
            if json { try Output.json(build); return }
            let fields: [(String, String)] = [
                ("id", build.id), ("app", build.app), ("state", build.state.rawValue), ("commit", build.commit ?? "-"),
                ("kind", build.hot ? "hot upgrade (KILN-HOT)" : "deploy by restart"),
                ("attempts", "\(build.attempts)"), ("worker", build.worker ?? "-"), ("slug", build.slugDigest.map { "sha256:\($0)" } ?? "-"),
                ("slug size", build.slugSize.map { "\($0) bytes" } ?? "-"), ("image", build.image ?? "-"),
                ("ports", build.imagePorts.map { $0.map(String.init).joined(separator: ", ") } ?? "-"), ("error", build.error ?? "-"),
                ("created", Output.time(build.createdAt)), ("started", Output.time(build.startedAt)), ("finished", Output.time(build.finishedAt)),
                ("timings", build.timingSummary.isEmpty ? "-" : build.timingSummary),
            ]
            for (name, value) in fields { emit(name.padding(toLength: 10, withPad: " ", startingAt: 0) + value) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running build.")
        @Argument(help: "The build id (b-N).") var id: String

        func run() async throws {
            let build = try await KilnClient.fromEnvironment().call { try await $0.cancelBuild(path: .init(id: id)).ok.body.json }
            emit(build.state == .cancelled ? "\(id) cancelled" : build.state.isFinal ? "\(id) had already ended (\(build.state.rawValue))" : "\(id) will stop within seconds")
        }
    }
}

extension BuildsCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build a source archive (tar.gz, tar.zst, tar or zip) from a URL; follows the build's log.")
        @Option(help: "The app.") var app: String
        @Option(help: "An https, http or file URL of the source archive (the server fetches it).") var sourceURL: String
        @Flag(help: "Start without the app's dependency cache.") var clean = false
        @Flag(help: "Build an OTP hot upgrade of the app's running release (as KILN-HOT: true on a push).") var hot = false
        @Flag(help: "Print the build id and return at once.") var detach = false

        func run() async throws {
            let client = try KilnClient.fromEnvironment()
            // The server downloads and unpacks the archive before it answers.
            let build = try await client.call(timeout: 600) {
                try await $0.createBuild(path: .init(app: app), body: .json(.init(sourceUrl: sourceURL, clean: clean, hot: hot))).created.body.json
            }
            emit("\(build.id) queued from \(sourceURL)")
            if detach { return }
            try await LogsCommand.parse([build.id, "--follow"]).run()
            let final = try await client.call { try await $0.getBuild(path: .init(id: build.id)).ok.body.json }
            guard final.state == .succeeded else { throw ExitCode(1) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a new build of the same source as a finished one.")
        @Argument(help: "The build id (b-N).") var id: String

        func run() async throws {
            let build = try await KilnClient.fromEnvironment().call { try await $0.retryBuild(path: .init(id: id)).created.body.json }
            emit("\(build.id) queued (a retry of \(id)); follow it with `kiln logs \(build.id) -f`")
        }
    }
}

/// `kiln logs ID [-f]`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a build's log; -f follows it until the build ends.")
    @Argument(help: "The build id (b-N).") var id: String
    @Flag(name: [.short, .customLong("follow")], help: "Follow the log until the build ends.") var follow = false

    func run() async throws {
        let client = try KilnClient.fromEnvironment()
        var after = 0
        while true {
            // Each page is a long poll of up to 20 s: lines print as the server gets them.
            let page = try await client.call(timeout: 60) { [after] in
                try await $0.buildLog(path: .init(id: id), query: .init(after: after, wait: follow ? 20 : 0)).ok.body.json
            }
            for line in page.lines { emit(line.text) }
            after = page.lines.last?.number ?? after
            if !follow || page.done { break }
            // Without -f one page is printed; with it, pages until the end.
        }
        if !follow {
            // A finished log can be longer than one page.
            while true {
                let page = try await client.call { [after] in try await $0.buildLog(path: .init(id: id), query: .init(after: after)).ok.body.json }
                if page.lines.isEmpty { break }
                for line in page.lines { emit(line.text) }
                after = page.lines.last?.number ?? after
            }
        }
    }
}
