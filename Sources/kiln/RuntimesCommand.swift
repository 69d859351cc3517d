import ArgumentParser
import Foundation
import KilnHome
import KilnRuntimes

/// Where a farm's added runtimes are: `kiln up`, `kiln worker` and `kiln runtimes` take it.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .customLong("runtimes"), help: ArgumentHelp(
        "The runtimes the built-in builders may use besides the stack's own toolchains, NAME/VERSION/ folders (default: HOME/runtimes).",
        valueName: "DIR"))
    var directory: String?

    func url(home: URL) -> URL {
        directory.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? KilnHome(home).runtimes
    }

    /// The same option, for a `kiln worker` started by `kiln up`.
    var arguments: [String] { directory.map { ["--runtimes", $0] } ?? [] }
}

/// `kiln runtimes`: the toolchain versions a farm offers apps besides its stack's own.
struct RuntimesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtimes", abstract: "Add and list the runtimes (Python, Node.js, Elixir, Erlang versions) builds may select.",
        subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a runtime from a directory with bin/ or an archive of one (tar, zip, wheel); its version is asked of it.")
        @OptionGroup var home: HomeOptions
        @OptionGroup var runtimes: RuntimeOptions
        @Argument(help: "python, node, elixir or erlang.") var name: String
        @Argument(help: "A directory or archive holding bin/python3, bin/node, bin/elixir or bin/erl.") var source: String
        @Option(help: "The version it must report (checked, not trusted).") var version: String?
        @Flag(help: "Replace a runtime of the same version.") var replace = false

        func run() async throws {
            guard let kind = RuntimeKind.named(name) else {
                throw ValidationError("unknown runtime \(name): one of \(RuntimeKind.all.map(\.name).joined(separator: ", "))")
            }
            let directory = runtimes.url(home: home.homeURL)
            do {
                let added = try await RuntimeInstaller(directory: directory).add(kind, from: URL(fileURLWithPath: source), version: version, replace: replace)
                print("added \(kind.title) \(added.version) at \(added.directory?.path ?? "")")
            } catch let error as RuntimeError {
                throw ValidationError(error.message)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the runtimes added to this farm's runtimes directory.")
        @OptionGroup var home: HomeOptions
        @OptionGroup var runtimes: RuntimeOptions

        func run() throws {
            let found = RuntimeCatalog.scan(runtimes.url(home: home.homeURL)).sorted { ($0.kind, $1.version) < ($1.kind, $0.version) }
            if found.isEmpty { print("no runtimes added in \(runtimes.url(home: home.homeURL).path); builds use the stack's own toolchains") }
            for runtime in found { print("\(runtime.kind)\t\(runtime.version)\t\(runtime.directory?.path ?? "")") }
        }
    }
}
