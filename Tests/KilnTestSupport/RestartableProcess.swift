import Foundation

/// A long-lived program a test stops with SIGTERM and starts again (a
/// rolling restart), its output kept in a file for when something fails.
public final class RestartableProcess: @unchecked Sendable {
    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let log: URL
    private let lock = NSLock()
    private var process: Process?

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: URL) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.log = log
    }

    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let output = try FileHandle(forWritingTo: log)
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        lock.withLock { self.process = process }
    }

    /// SIGTERM, then waits up to `grace` for a graceful exit before SIGKILL; returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(60)) async -> Int32 {
        guard let process = lock.withLock({ self.process }) else { return 0 }
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The output so far.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}
