import Foundation
@testable import KilnAgent
import KilnSandbox
import KilnTestSupport
import Testing

/// Web processes started as the agent starts a slug's: in the sandbox, as the
/// run user when the test runs as root, `.profile.d` sourced, PORT set.
@Suite struct WebProcessTests {
    static func launcher() throws -> Launcher {
        Launcher(user: getuid() == 0 ? try SandboxUser.named("kiln-build") : nil)
    }

    /// An app directory with `files`, given to the run user as the agent does.
    static func app(_ files: [String: String]) throws -> URL {
        let root = try TestEnvironment.temporaryDirectory("web")
        let app = root.appendingPathComponent("app")
        try FileManager.default.createDirectory(at: app, withIntermediateDirectories: true)
        try writeFiles(files, in: app)
        try launcher().user?.own(app)
        return root
    }

    static func start(_ root: URL, command: String, environment: [String: String] = [:]) throws -> WebProcess {
        let port = try WebProcess.freePort()
        let runner = try launcher().slug(app: root.appendingPathComponent("app"), command: command, environment: environment.merging(["PORT": "\(port)"]) { $1 })
        return WebProcess.start(port: port, version: 1, directory: root, environment: environment, runner: runner) { _, _ in }
    }

    @Test func aProcessThatExitsBeforeAnsweringFailsAtOnceWithItsStatusAndLastLines() async throws {
        let root = try Self.app([".profile.d/greeting.sh": "export GREETING=from-profile\n"])
        let process = try Self.start(root, command: #"echo "booting with $GREETING as $(id -un)"; echo "cannot bind" >&2; exit 3"#)
        let started = ContinuousClock.now
        let error = await #expect(throws: AgentError.self) { try await process.waitUntilServing(within: .seconds(120)) }
        #expect(ContinuousClock.now - started < .seconds(60))
        let expectedUser = getuid() == 0 ? "kiln-build" : ProcessInfo.processInfo.environment["USER"] ?? "root"
        #expect(error?.description.hasPrefix("web exited with status 3 before answering: ") == true, "\(String(describing: error))")
        #expect(error?.description.contains("booting with from-profile as \(expectedUser)\ncannot bind") == true, "\(String(describing: error))")
        await process.stop()
    }

    @Test func aProcessThatAnswersIsServingAndStopsWhenStopped() async throws {
        let root = try Self.app(["index.html": "hello from the slug"])
        let process = try Self.start(root, command: #"exec python3 -m http.server "$PORT" --bind 127.0.0.1"#, environment: ["SECRET": "x"])
        try await process.waitUntilServing(within: .seconds(60))
        #expect(try await WebProcess.answers(port: process.port))
        #expect(!process.hasExited)
        await process.stop()
        #expect(process.hasExited)
        #expect(try await !WebProcess.answers(port: process.port))
    }

    @Test func aProcessThatNeverAnswersTimesOut() async throws {
        let root = try Self.app([:])
        let process = try Self.start(root, command: "echo waiting; exec sleep 600")
        // Long enough for the sandbox to start and print on a loaded host: the reason carries what it printed.
        let error = await #expect(throws: AgentError.self) { try await process.waitUntilServing(within: .seconds(15)) }
        #expect(error?.description.hasPrefix("web did not answer on its port within 15 s: waiting") == true, "\(String(describing: error))")
        await process.stop()
        #expect(process.hasExited)
    }

    /// The agent stopped while a process boots: the wait ends in cancellation, never as a readiness.
    @Test func aWaitCancelledBeforeTheProcessAnswersIsNotAReadiness() async throws {
        let process = WebProcess.start(port: try WebProcess.freePort(), version: 1, directory: URL(fileURLWithPath: "/nonexistent"), environment: [:],
                                       runner: { _ in
                                           try await Task.sleep(for: .seconds(600)) // stands for a process that never answers; stopped below
                                           return 0
                                       }) { _, _ in }
        let waiting = Task { try await process.waitUntilServing(within: .seconds(120)) }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        await process.stop()
        #expect(process.hasExited)
    }
}
