import Foundation
import KilnReceiver
import Logging
import NIOCore
import NIOSSH
import Subprocess
import Synchronization
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs one ``KilnReceiver/GitInvocation`` for an SSH channel: the client's
/// bytes into git's standard input, its output back as channel data and its
/// standard error (the push hook's build log, which git sends in band, and
/// git's own complaints) as extended data.
struct GitProcess: Sendable {
    let invocation: GitInvocation
    let logger: Logger
    /// As long as a push over HTTP may take, its build included.
    static let timeLimit: Duration = .seconds(60 * 60)

    /// Returns git's exit status; a session that outlasts ``timeLimit`` or is
    /// cancelled (the client went away) has its git killed.
    ///
    /// The client's bytes are read only once git has taken all it was given
    /// (`credit`): NIOSSH reopens the client's window as it delivers them, so
    /// reading ahead would let a fast client fill the server's memory while
    /// git checks a slow pack. At most one window per session is held.
    func run(input: AsyncStream<ByteBuffer>, credit: InputCredit, channel: any Channel) async throws -> Int32 {
        let variables = Dictionary(uniqueKeysWithValues: invocation.environment.compactMap { name, value in
            Subprocess.Environment.Key(rawValue: name).map { ($0, Optional(value)) }
        })
        let configuration = Configuration(executable: .name("git"), arguments: Arguments(invocation.arguments),
                                          environment: .inherit.updating(variables), workingDirectory: FilePath(invocation.workingDirectory))
        let finished = Flag()
        let logger = logger, app = invocation.app
        let result = try await Subprocess.run(configuration, input: .inputWriter, output: .sequence, error: .sequence) { execution in
            try await withThrowingTaskGroup(of: Void.self) { background in
                background.addTask {
                    // The time limit, and the client gone: either ends git (its hook then sees its input end).
                    try? await Task.sleep(for: Self.timeLimit)
                    guard !finished.isSet else { return }
                    logger.warning("ssh git session stopped", metadata: ["app": "\(app)", "cancelled": "\(Task.isCancelled)"])
                    try? execution.send(signal: .kill)
                }
                background.addTask {
                    // A git that has exited refuses further input: nothing to report, its status tells.
                    do {
                        for await buffer in input {
                            _ = try await execution.standardInputWriter.write(Array(buffer.readableBytesView))
                            // All taken: let the next bytes come.
                            if credit.take() { channel.read() }
                        }
                        try await execution.standardInputWriter.finish()
                    } catch {}
                }
                try await withThrowingTaskGroup(of: Void.self) { outputs in
                    outputs.addTask {
                        for try await chunk in execution.standardError {
                            let bytes = chunk.withUnsafeBytes { ByteBuffer(bytes: $0) }
                            try await channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(bytes))).get()
                        }
                    }
                    for try await chunk in execution.standardOutput {
                        let bytes = chunk.withUnsafeBytes { ByteBuffer(bytes: $0) }
                        try await channel.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(bytes))).get()
                    }
                    try await outputs.waitForAll()
                }
                // Both outputs ended: git has exited or is exiting. The input and the timer are no longer needed.
                finished.set()
                background.cancelAll()
                while await background.nextResult() != nil {}
            }
        }
        switch result.terminationStatus {
        case .exited(let code): return Int32(code)
        case .signaled(let signal): return 128 + Int32(signal)
        }
    }
}

/// A flag one task sets and others read.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// How many of the client's buffers git's writer has yet to write: the
/// session reads more of the client only when none is left.
final class InputCredit: Sendable {
    private let count = Mutex(0)
    /// One more buffer handed over (on the event loop).
    func add() { count.withLock { $0 += 1 } }
    /// One written; whether none is left.
    func take() -> Bool { count.withLock { $0 -= 1; return $0 <= 0 } }
}
