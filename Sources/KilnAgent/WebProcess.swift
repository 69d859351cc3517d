import Foundation
import KilnCurl
import KilnProcess
import KilnSandbox
import Synchronization

/// A started web process of one release: its private port, what it printed
/// last, and its end. The agent owns it: ``stop()`` ends it and waits until
/// it has ended (SIGTERM reaches the sandbox's bubblewrap, whose
/// `--die-with-parent` ends the app inside at once: the app's own SIGTERM
/// handler does not run).
final class WebProcess: Sendable {
    /// Runs the program to its end, handing each line it prints to the closure; returns its status.
    typealias Runner = @Sendable (_ output: @escaping @Sendable (String) -> Void) async throws -> Int32

    let port: Int
    let version: Int
    /// The release directory it runs from (`DIR/APP/vN`).
    let directory: URL
    /// Config vars and `--app-env` variables it was started with, PORT aside.
    let environment: [String: String]
    let output = LastLines(count: 20)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let exit = Mutex<(status: Int32?, waiters: [UUID: CheckedContinuation<Int32?, Never>])>((nil, [:]))

    private init(port: Int, version: Int, directory: URL, environment: [String: String]) {
        self.port = port
        self.version = version
        self.directory = directory
        self.environment = environment
    }

    /// Starts `runner` at once; `exited` is called with its status when it ends by itself.
    static func start(port: Int, version: Int, directory: URL, environment: [String: String], runner: @escaping Runner,
                      exited: @escaping @Sendable (WebProcess, Int32) -> Void) -> WebProcess {
        let process = WebProcess(port: port, version: version, directory: directory, environment: environment)
        let output = process.output
        process.task.withLock { task in
            task = Task {
                let status: Int32
                do {
                    status = try await runner { output.append($0) }
                } catch {
                    output.append("\(error)")
                    status = 128 + SIGKILL
                }
                let stopped = Task.isCancelled
                let woken = process.exit.withLock { state in
                    state.status = status
                    defer { state.waiters = [:] }
                    return Array(state.waiters.values)
                }
                for continuation in woken { continuation.resume(returning: status) }
                if !stopped { exited(process, status) }
            }
        }
        return process
    }

    var hasExited: Bool { exit.withLock { $0.status != nil } }

    /// Its exit status once it has ended; `nil` if the waiting task is cancelled first.
    func waitForExit() async -> Int32? {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                let now: Int32?? = exit.withLock { state in
                    if let status = state.status { return .some(status) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            exit.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }

    /// Ends it (its task cancelled: SIGTERM to the launcher's process group, SIGKILL after the grace period; the app
    /// inside the sandbox ends with bubblewrap) and waits for its end.
    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }

    /// Last lines it printed, for a failure's reason.
    var lastLines: String {
        let lines = output.lines
        return lines.isEmpty ? "(it printed nothing)" : lines.suffix(10).joined(separator: "\n")
    }

    /// Waits until it answers HTTP on its port (any status), at most `limit`.
    /// Throws at once when it exits first, with its status and last lines.
    func waitUntilServing(within limit: Duration, name: String = "web") async throws {
        let port = self.port
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // nil: the wait was cancelled (the agent stops, or the other child won); never a readiness.
                guard let status = await self.waitForExit() else { throw CancellationError() }
                throw AgentError("\(name) exited with status \(status) before answering: \(self.lastLines)")
            }
            group.addTask {
                let deadline = ContinuousClock.now + limit
                // Bounded by the boot timeout; a short interval, so that a swap follows readiness closely.
                while ContinuousClock.now < deadline {
                    if try await Self.answers(port: port) { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                throw AgentError("\(name) did not answer on its port within \(limit.components.seconds) s: \(self.lastLines)")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Whether something answers an HTTP GET of `/` on 127.0.0.1:`port`.
    static func answers(port: Int) async throws -> Bool {
        try await onThread {
            var request = CurlRequest("GET", "http://127.0.0.1:\(port)/")
            request.connectTimeout = .seconds(1)
            request.timeout = .seconds(5)
            return (try? request.perform()) != nil
        }
    }

    /// A TCP port of 127.0.0.1 nothing listens on right now, chosen by the kernel.
    static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
