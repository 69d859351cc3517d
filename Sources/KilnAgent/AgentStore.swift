import Foundation
import KilnHome
import Synchronization

/// The agent's record of every app (`DIR/state.json`, owner-only: it holds
/// config vars): its stable port, current release and deploy outcomes.
/// Written through on every change; readers of the deploys can wait for the
/// next outcome without polling.
final class AgentStore: Sendable {
    /// The most outcomes kept per app; the oldest go first.
    static let keptDeploys = 200

    private struct State: Sendable {
        var apps: [String: AppRecord]
        var waiters: [UUID: (app: String, after: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
        /// Outcomes dropped from the front of each app's list, so that `after` counts every outcome.
        var dropped: [String: Int] = [:]
    }

    private let file: URL
    private let state: Mutex<State>

    init(file: URL) throws {
        self.file = file
        var apps: [String: AppRecord] = [:]
        // Only a missing file is an empty record: any other failure stops the agent, naming the file.
        if let data = try AgentFiles.readIfPresent(file) {
            do {
                apps = try Self.decoder.decode([String: AppRecord].self, from: data)
            } catch {
                throw AgentError("\(file.path) cannot be read (\(error)): move it away to start with no apps")
            }
        }
        state = Mutex(State(apps: apps))
    }

    var appNames: [String] { state.withLock { $0.apps.keys.sorted() } }

    func record(_ app: String) -> AppRecord? {
        state.withLock { $0.apps[app] }
    }

    /// Changes the app's record (made empty if there was none) and writes the state.
    @discardableResult
    func update<T>(_ app: String, _ change: (inout AppRecord) throws -> T) throws -> T {
        try state.withLock { state in
            var record = state.apps[app] ?? AppRecord()
            let result = try change(&record)
            state.apps[app] = record
            try write(state.apps)
            return result
        }
    }

    /// Takes vN of `app` when it is newer than every version taken before
    /// (written through before it returns); otherwise returns the highest taken.
    func take(version: Int, of app: String) throws -> Int? {
        try state.withLock { state in
            var record = state.apps[app] ?? AppRecord()
            if let highest = record.highestTaken, version <= highest { return highest }
            record.highestTaken = version
            var apps = state.apps
            apps[app] = record
            try write(apps)
            state.apps = apps
            return nil
        }
    }

    /// The highest version of `app` taken so far.
    func highestTaken(_ app: String) -> Int? {
        state.withLock { $0.apps[app]?.highestTaken }
    }

    /// Adds an outcome and wakes whoever waits for it.
    func append(_ deploy: DeployRecord, app: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var record = state.apps[app] ?? AppRecord()
            record.deploys.append(deploy)
            if record.deploys.count > Self.keptDeploys {
                state.dropped[app, default: 0] += record.deploys.count - Self.keptDeploys
                record.deploys.removeFirst(record.deploys.count - Self.keptDeploys)
            }
            state.apps[app] = record
            // The outcome is known in memory even when the disk is full; the next write catches up.
            try? write(state.apps)
            let ready = state.waiters.filter { $0.value.app == app }
            for id in ready.keys { state.waiters.removeValue(forKey: id) }
            return ready.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// The app's outcomes after the first `after` of them.
    func deploys(_ app: String, after: Int) -> [DeployRecord] {
        state.withLock { state in
            let deploys = state.apps[app]?.deploys ?? []
            let skip = max(0, after - state.dropped[app, default: 0])
            return Array(deploys.dropFirst(skip))
        }
    }

    /// How many outcomes the app has had (those dropped from the front included).
    func count(_ app: String) -> Int {
        state.withLock { ($0.apps[app]?.deploys.count ?? 0) + $0.dropped[app, default: 0] }
    }

    /// Returns once the app has more than `after` outcomes, or the task is cancelled.
    func waitForDeploys(_ app: String, after: Int) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    let count = (state.apps[app]?.deploys.count ?? 0) + state.dropped[app, default: 0]
                    if count > after || Task.isCancelled { return true }
                    state.waiters[id] = (app, after, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    private func write(_ apps: [String: AppRecord]) throws {
        // Owner-only before any byte is in it (it holds config vars), renamed into place; the temporary file goes on failure.
        do {
            try OwnerOnlyFile.write(try Self.encoder.encode(apps), to: file)
        } catch let error as OwnerOnlyFile.WriteError {
            throw AgentError(error.message)
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
