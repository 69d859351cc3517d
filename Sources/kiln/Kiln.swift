import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus

/// `kiln`: the build farm's one command.
@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Kiln turns a git push into a signed slug or OCI image.",
        subcommands: [
            UpCommand.self, ServerCommand.self, WorkerCommand.self, MigrateCommand.self,
            AppsCommand.self, KeysCommand.self, AdminCommand.self, FarmKeysCommand.self, BuildsCommand.self, LogsCommand.self,
            ConfigCommand.self, CacheCommand.self, SlugCommand.self, ImagesCommand.self, ReleasesCommand.self, RollbackCommand.self, RuntimesCommand.self, WorkersCommand.self, QueueCommand.self, SSHCommand.self, HookCommand.self,
            ReleaseAgentCommand.self,
        ])
}

/// Logging to standard error, at `KILN_LOG_LEVEL` (default info).
/// Metrics go through swift-metrics into Prometheus' default registry, which `/metrics` serves.
enum KilnMetrics {
    static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory())
    }
}

enum KilnLogging {
    static func bootstrap(defaultLevel: Logger.Level = .info, format: LogOptions.Format = .text) -> Logger {
        let level = ProcessInfo.processInfo.environment["KILN_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        LoggingSystem.bootstrap { label in
            if format == .json {
                return JSONLogHandler(label: label, logLevel: level)
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "kiln")
    }
}

/// Options shared by the commands that run parts of Kiln.
struct HomeOptions: ParsableArguments {
    @Option(help: "Kiln's home directory: blobs, repositories, keys, work and (for `up`) PostgreSQL.")
    var home: String = ProcessInfo.processInfo.environment["KILN_HOME"] ?? "/var/lib/kiln"

    var homeURL: URL { URL(fileURLWithPath: home).standardizedFileURL }
}

/// Where the built-in builders are: `KILN_BUILDERS`, else a `builders/`
/// beside (or above) the executable, as in a checkout, else the installed copy.
enum BuiltInBuilders {
    static func directory() -> URL {
        if let configured = ProcessInfo.processInfo.environment["KILN_BUILDERS"] {
            return URL(fileURLWithPath: configured)
        }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var directory = executable.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("builders")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("ORDER").path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/usr/share/kiln/builders")
    }
}

/// Writes a line to standard output at once (no buffering: hooks and logs stream).
func emit(_ line: String) {
    try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
}
