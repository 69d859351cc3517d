import ArgumentParser
import Foundation
import KilnArchive
import KilnBlobStore
import KilnCatalog
import KilnDatabase
import KilnProcess
import KilnQueue
import Logging
import Synchronization

/// `kiln-bench queue`: the queue's pickup latency (with LISTEN/NOTIFY and
/// polling only), its claim rate under 1, 4 and 16 concurrent claimers, and
/// end-to-end throughput of empty builds through real `kiln worker` processes.
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Benchmark the build queue.")

    @Option(help: "PostgreSQL URL of an empty database.") var databaseURL: String
    @Option(help: "The kiln executable the workers run.") var kiln: String
    @Option(help: "A scratch directory for the workers' home.") var home: String
    @Option(help: "Builds enqueued one at a time for each latency run.") var samples = 50
    @Option(help: "The polling-only workers' poll interval, in seconds.") var pollInterval = 1.0
    @Option(help: "Builds claimed and completed per claimer count.") var claims = 800
    @Option(help: "Empty builds for the end-to-end run.") var builds = 100

    func run() async throws {
        var logger = Logger(label: "kiln-bench")
        logger.logLevel = .warning
        let url = try DatabaseURL(databaseURL)
        try await Database.with(url: url, logger: logger) { database in
            _ = try await Migrations.apply(on: database)
            let bench = QueueBenchRun(database: database, kiln: kiln, home: URL(fileURLWithPath: home))
            print("Kiln queue benchmark: PostgreSQL \(try await bench.serverVersion()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print("")
            print("pickup latency, enqueue -> claim (database clock), 4 idle `kiln worker` processes, \(samples) builds one at a time:")
            let notified = try await bench.pickupLatency(label: "notify", samples: samples, workerArguments: [])
            print(Self.row("  LISTEN/NOTIFY (poll 5 s as fallback)", notified))
            let polled = try await bench.pickupLatency(label: "poll", samples: samples,
                                                       workerArguments: ["--no-listen", "--poll-interval", "\(pollInterval)"])
            print(Self.row("  polling only, every \(pollInterval) s", polled))
            print("")
            print("claims per second (claim + complete, \(claims) builds over 64 apps, one running per app):")
            for claimers in [1, 4, 16] {
                let rate = try await bench.claimRate(claimers: claimers, total: claims)
                print(String(format: "  %2d claimers: %7.0f claims/s", claimers, rate))
            }
            print("")
            let throughput = try await bench.endToEnd(builds: builds, workers: 4)
            print(String(format: "end to end, %d empty builds (Procfile app: fetch, detect, compile, pack, sign, release) on 4 workers:", builds))
            print(String(format: "  %.1f builds/s; per build: queue wait p50 %.0f ms, run p50 %.0f ms; first enqueue to last release %.1f s",
                         throughput.buildsPerSecond, throughput.waitP50, throughput.runP50, throughput.seconds))
        }
    }

    static func row(_ label: String, _ values: [Double]) -> String {
        let padded = label.padding(toLength: 42, withPad: " ", startingAt: 0)
        return String(format: "%@ p50 %7.1f ms   p99 %7.1f ms   max %7.1f ms", padded,
                      percentile(values, 0.50), percentile(values, 0.99), values.max() ?? 0)
    }
}

/// Nearest-rank percentile of `values` (0 when empty).
func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
