import Foundation
import KilnProcess

/// Runs long-lived programs (a server, a worker) for the length of `body`.
/// One that exits before `body` is done fails the test with its output,
/// instead of leaving the test waiting on a build nobody will run.
public func withRunning<T: Sendable>(_ commands: [Command], _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        for command in commands {
            group.addTask {
                let outcome = try await command.run(limit: 4 << 20)
                let tail = outcome.output.split(separator: "\n").suffix(30).joined(separator: "\n")
                throw TestSetupError("\(command.executable) \(command.arguments.prefix(2).joined(separator: " ")) exited \(outcome.status) early:\n\(tail)")
            }
        }
        group.addTask { try await body() }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let next { return next }
        }
        throw TestSetupError("no result")
    }
}
