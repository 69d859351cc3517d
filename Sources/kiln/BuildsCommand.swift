import ArgumentParser
import Foundation
import KilnClient
import KilnQueue

/// `kiln builds list|show|cancel`.
struct BuildsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "builds", abstract: "List, show and cancel builds.", subcommands: [List.self, Show.self, Create.self, Cancel.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List builds, newest first.")
        @Option(help: "Only this app's builds.") var app: String?
        @Option(help: "At most this many.") var limit: Int = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var query = ["limit": "\(limit)"]
            if let app { query["app"] = app }
            let builds = try await KilnClient.fromEnvironment().get([Build].self, "api/builds", query: query)
            if json { try Output.json(builds); return }
            Output.table(["ID", "APP", "STATE", "COMMIT", "CREATED", "ERROR"], Output.buildRows(builds))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one build.")
        @Argument(help: "The build id (b-N).") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let build = try await KilnClient.fromEnvironment().get(Build.self, "api/builds/\(id)")
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
            let build = try KilnClient.decoder.decode(Build.self, from: try await KilnClient.fromEnvironment().send("POST", "api/builds/\(id)/cancel"))
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
            struct Body: Encodable { var source_url: String; var clean: Bool; var hot: Bool }
            let client = try KilnClient.fromEnvironment()
            let data = try await client.send("POST", "api/apps/\(app)/builds", json: Body(source_url: sourceURL, clean: clean, hot: hot), timeout: 600)
            let build = try KilnClient.decoder.decode(Build.self, from: data)
            emit("\(build.id) queued from \(sourceURL)")
            if detach { return }
            try await LogsCommand.parse([build.id, "--follow"]).run()
            let final = try await client.get(Build.self, "api/builds/\(build.id)")
            guard final.state == .succeeded else { throw ExitCode(1) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a new build of the same source as a finished one.")
        @Argument(help: "The build id (b-N).") var id: String

        func run() async throws {
            let build = try KilnClient.decoder.decode(Build.self, from: try await KilnClient.fromEnvironment().send("POST", "api/builds/\(id)/retry"))
            emit("\(build.id) queued (a retry of \(id)); follow it with `kiln logs \(build.id) -f`")
        }
    }
}

/// `kiln logs ID [-f]`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a build's log; -f follows it until the build ends.")
    @Argument(help: "The build id (b-N).") var id: String
    @Flag(name: [.short, .customLong("follow")], help: "Follow the log until the build ends.") var follow = false

    struct Page: Decodable {
        struct Line: Decodable { var number: Int; var text: String }
        var state: BuildState
        var lines: [Line]
        var done: Bool
    }

    func run() async throws {
        let client = try KilnClient.fromEnvironment()
        var after = 0
        while true {
            let page = try await client.get(Page.self, "api/builds/\(id)/log", query: ["after": "\(after)", "wait": follow ? "20" : "0"], timeout: 60)
            for line in page.lines { emit(line.text) }
            after = page.lines.last?.number ?? after
            if !follow || page.done { break }
            // Without -f one page is printed; with it, pages until the end.
        }
        if !follow {
            // A finished log can be longer than one page.
            while true {
                let page = try await client.get(Page.self, "api/builds/\(id)/log", query: ["after": "\(after)"])
                if page.lines.isEmpty { break }
                for line in page.lines { emit(line.text) }
                after = page.lines.last?.number ?? after
            }
        }
    }
}
