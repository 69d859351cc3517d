import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln workers`: the farm's workers, their capacity and current builds.
struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workers", abstract: "List the farm's workers.")
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let workers = try await KilnClient.fromEnvironment().call { try await $0.listWorkers().ok.body.json }
        if json { try Output.json(workers); return }
        Output.table(["NAME", "HOST", "PID", "CAPACITY", "RUNNING", "HEARTBEAT", "STATUS", "LIMITS"], workers.map {
            [$0.name, $0.host, "\($0.pid)", "\($0.capacity)", $0.running.isEmpty ? "-" : $0.running.joined(separator: ","), Output.time($0.heartbeatAt),
             $0.lost ? "lost" : "alive", $0.unlimited ? "UNLIMITED (--unlimited-builds): \($0.limits)" : $0.limits]
        })
    }
}

/// `kiln queue`: counts per state, the oldest queued build's wait, running builds per worker.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Show the build queue at a glance.")
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let stats = try await KilnClient.fromEnvironment().call { try await $0.queueStats().ok.body.json }
        if json { try Output.json(stats); return }
        Output.table(["STATE", "BUILDS"], Components.Schemas.BuildState.allCases.map { [$0.rawValue, "\(stats.counts.additionalProperties[$0.rawValue] ?? 0)"] })
        emit("oldest queued: " + (stats.oldestQueuedSeconds.map { String(format: "%.1f s ago", $0) } ?? "none"))
        emit("demand (queued + running, what KEDA scales workers on): \(stats.demand ?? 0)")
        for (worker, count) in stats.runningPerWorker.additionalProperties.sorted(by: { $0.key < $1.key }) { emit("running on \(worker): \(count)") }
    }
}
