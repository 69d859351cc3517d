import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A program to run, with everything it needs: arguments, environment,
/// working directory and, for a sandbox, the user to run as.
public struct Command: Sendable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// Variables set or removed over the inherited environment, or the whole
    /// environment when `inheritEnvironment` is false.
    public var environment: [String: String]
    public var inheritEnvironment: Bool
    public var workingDirectory: String?
    /// Run as this user and group (numeric); `nil` keeps ours.
    public var user: (uid: UInt32, gid: UInt32)?
    /// Start the program in a process group of its own, and signal the whole
    /// group when it is stopped: nothing it spawned outlives it.
    public var ownProcessGroup = false
    /// How long a stopped program has between SIGTERM and SIGKILL.
    public var gracePeriod: Duration = .seconds(5)

    /// - Parameter executable: a path, or a name looked up in `PATH`.
    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], inheritEnvironment: Bool = true, workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.inheritEnvironment = inheritEnvironment
        self.workingDirectory = workingDirectory
    }

    public var description: String { ([executable] + arguments).joined(separator: " ") }

    /// The outcome of a command that ran to its end.
    public struct Outcome: Sendable {
        /// The exit code, or 128 + the signal number when a signal ended it (as shells report it).
        public let status: Int32
        /// Standard output and standard error interleaved, when captured.
        public let output: String
        public var succeeded: Bool { status == 0 }
    }

    /// Runs to completion and captures up to `limit` bytes of interleaved output.
    public func run(limit: Int = 1 << 20) async throws -> Outcome {
        let result = try await Subprocess.run(configuration, input: .none, output: .string(limit: limit), error: .combinedWithOutput)
        return Outcome(status: Self.code(result.terminationStatus), output: result.standardOutput)
    }

    /// Runs to completion; returns its standard output as bytes, kept apart
    /// from standard error (for output that is parsed or hashed). Output over
    /// `limit` bytes is an error, not a truncation.
    public func capture(limit: Int = 4 << 20) async throws -> (status: Int32, output: [UInt8], error: String) {
        let result = try await Subprocess.run(configuration, input: .none, output: .bytes(limit: limit), error: .string(limit: 64 << 10))
        return (Self.code(result.terminationStatus), result.standardOutput, result.standardError)
    }

    /// Runs to completion and hands each line of interleaved output to `line` as it comes.
    /// Cancelling the task terminates the program.
    public func stream(_ line: @escaping @Sendable (String) async throws -> Void) async throws -> Int32 {
        let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .combinedWithOutput) { execution in
            for try await text in execution.standardOutput.strings(bufferingPolicy: .maxLineLength(64 * 1024)) {
                var text = text
                while text.last == "\n" || text.last == "\r" { text.removeLast() }
                try await line(text)
            }
        }
        return Self.code(result.terminationStatus)
    }

    /// Runs and fails with ``CommandError`` unless the program exits 0; returns its output.
    @discardableResult
    public func check(limit: Int = 1 << 20) async throws -> String {
        let outcome = try await run(limit: limit)
        guard outcome.succeeded else { throw CommandError(command: self, outcome: outcome) }
        return outcome.output
    }

    var configuration: Configuration {
        var options = PlatformOptions()
        var executable = self.executable, arguments = self.arguments
        if let user {
            // Switching user in the forked child (PlatformOptions.userID) can
            // deadlock glibc's setxid in a multithreaded parent; setpriv does
            // it after exec, single-threaded.
            arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments
            executable = "/usr/bin/setpriv"
        }
        if ownProcessGroup { options.processGroupID = 0 }
        // Children go when their parent's task is cancelled: ask first, then insist.
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: ownProcessGroup, allowedDurationToNextStep: gracePeriod)]
        var variables: [Environment.Key: String] = [:]
        for (name, value) in self.environment {
            if let key = Environment.Key(rawValue: name) { variables[key] = value }
        }
        let environment: Environment = inheritEnvironment ? .inherit.updating(variables.mapValues { Optional($0) }) : .custom(variables)
        return Configuration(
            executable: executable.contains("/") ? .path(FilePath(executable)) : .name(executable),
            arguments: Arguments(arguments),
            environment: environment,
            workingDirectory: workingDirectory.map { FilePath($0) },
            platformOptions: options
        )
    }

    static func code(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): Int32(code)
        case .signaled(let signal): 128 + Int32(signal)
        }
    }
}

/// A command that exited non-zero: its command line, status and last lines of output.
public struct CommandError: Error, CustomStringConvertible, Sendable {
    public let command: String
    public let status: Int32
    public let output: String

    public init(command: Command, outcome: Command.Outcome) {
        self.command = command.description
        self.status = outcome.status
        self.output = outcome.output
    }

    public var description: String {
        let tail = output.split(separator: "\n").suffix(5).joined(separator: "\n")
        return "`\(command)` exited \(status)" + (tail.isEmpty ? "" : ":\n\(tail)")
    }
}
