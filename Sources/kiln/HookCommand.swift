import ArgumentParser
import Foundation
import KilnDatabase
import KilnReceiver
import Logging

/// `kiln hook pre-receive`: run by git inside a push (see ``PushHook``).
struct HookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hook", abstract: "git hooks of the receiver (run by git, not by hand).", shouldDisplay: false)

    @Argument(help: "The hook: pre-receive.") var name: String

    func run() async throws {
        guard name == "pre-receive" else { throw ValidationError("unknown hook \(name); only pre-receive exists") }
        // Whatever the hook writes reaches the pusher: log only errors.
        let logger = KilnLogging.bootstrap(defaultLevel: .error)
        let environment = ProcessInfo.processInfo.environment
        let hook = try PushHookEnvironment(from: environment)
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let repository = FileManager.default.currentDirectoryPath
        let status = try await Database.with(url: try DatabaseURL(hook.databaseURL), logger: logger) { database in
            try await PushHook(environment: hook, database: database, print: emit)
                .run(updates: PushHook.Update.parse(input), repository: repository, quarantine: environment["GIT_QUARANTINE_PATH"])
        }
        if status != 0 { throw ExitCode(status) }
    }
}
