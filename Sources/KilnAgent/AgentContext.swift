import Foundation
import KilnSandbox
import Logging

/// What every app's deployer shares: the configuration, the record, how
/// programs start, where statuses go, and the log.
struct AgentContext: Sendable {
    var configuration: AgentConfiguration
    var store: AgentStore
    var launcher: Launcher
    var reporter: StatusReporter
    var logger: Logger

    /// `DIR/APP`.
    func directory(of app: String) -> URL {
        configuration.appsDirectory.appendingPathComponent(app, isDirectory: true)
    }
}
