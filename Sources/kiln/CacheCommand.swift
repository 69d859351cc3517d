import ArgumentParser
import Foundation
import KilnAPI
import KilnClient

/// `kiln cache purge|stats`: the dependency cache.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cache", abstract: "Purge an app's dependency cache, or show how builds use it.",
                                                    subcommands: [Purge.self, Stats.self])

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the app's next builds cold, on every worker (other apps keep what they share).")
        @Option(help: "The app.") var app: String

        func run() async throws {
            let purged = try await KilnClient.fromEnvironment().call { try await $0.purgeCache(path: .init(app: app)).ok.body.json }
            emit("\(purged.app): dependency cache purged (epoch \(purged.epoch)); its next build starts cold")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hits, misses, bytes restored and saved, and what the cache tiers hold (administrators).")
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let stats = try await KilnClient.fromEnvironment().call { try await $0.cacheStats().ok.body.json }
            if json { try Output.json(stats); return }
            let totals = stats.totals
            let lookups = totals.hits + totals.misses + totals.faults
            emit("builds      \(lookups) cache lookups: \(totals.hits) hits, \(totals.misses) misses, \(totals.faults) faults"
                 + (lookups > 0 ? String(format: " (%.0f%% hits)", Double(totals.hits) * 100 / Double(lookups)) : ""))
            emit("restored    \(totals.filesRestored) files, \(megabytes(totals.bytesRestored))")
            emit("saved       \(megabytes(totals.bytesSaved)) of new objects")
            for (name, tier) in [("shared", stats.shared), ("local", stats.local)] {
                emit("\(name.padding(toLength: 12, withPad: " ", startingAt: 0))\(tier.entries) entries, \(tier.objects) objects, "
                     + "\(megabytes(tier.storedBytes)) stored for \(megabytes(tier.treeBytes)) of trees (dedup \(String(format: "%.2f", tier.dedupRatio))x)")
            }
            if !stats.apps.isEmpty {
                emit("")
                Output.table(["APP", "HITS", "MISSES", "FAULTS", "RESTORED", "SAVED"], stats.apps.map {
                    [$0.app, "\($0.hits)", "\($0.misses)", "\($0.faults)", megabytes($0.bytesRestored), megabytes($0.bytesSaved)]
                })
            }
        }

        func megabytes(_ bytes: Int64) -> String {
            String(format: "%.1f MB", Double(bytes) / 1_000_000)
        }
    }
}
