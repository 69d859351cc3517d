import Foundation
import KilnBlobStore
import KilnCatalog
import KilnProcess
import KilnQueue

/// What every phase of one build attempt shares.
struct BuildContext: Sendable {
    let build: Build
    let settings: BuildSettings
    let workspace: BuildWorkspace
    let configuration: WorkerConfiguration
    let blobs: BlobStorage
    /// The build's log (``BuildLogWriter`` in a worker).
    let logSink: any BuildLogSink
    /// How long each phase took.
    let timer = PhaseTimer()

    /// Appends a line to the build's log.
    func log(_ line: String) async {
        await logSink.append(line)
    }

    /// Gives `directory` to the build user, so that buildpacks can write
    /// there (with `files: false`, its directories only).
    func handOver(_ directory: URL, files: Bool = true) async throws {
        guard let user = configuration.buildUser else { return }
        try await onThread { try user.own(directory, files: files) }
    }

    /// The same, as a closure for parts that stream output.
    var logLine: @Sendable (String) async throws -> Void {
        { [logSink] line in await logSink.append(line) }
    }
}

/// The app's build settings and config, read when the build starts.
struct BuildSettings: Sendable {
    let app: App
    let config: ConfigVersion
    /// The app's current release, read for a hot build only.
    var running: RunningRelease?
}

/// A failure the pusher should read as is: the message is the build's error.
struct BuildFailure: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
