import ArgumentParser
import Foundation
import KilnDatabase
import KilnProcess
import Logging

/// `kiln-bench scale`: builds per minute with 1, 2, 4 and 8 `kiln worker`
/// processes, for empty builds and for a CPU-bound buildpack, in one run,
/// with the gain each doubling of workers brings.
struct ScaleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scale", abstract: "Builds per minute against the number of workers.")

    @Option(help: "PostgreSQL URL of an empty database.") var databaseURL: String
    @Option(help: "The kiln executable the workers run.") var kiln: String
    @Option(help: "A scratch directory for the workers' home.") var home: String
    @Option(help: "Builds per run.") var builds = 24
    @Option(help: "Megabytes the CPU-bound buildpack hashes per build.") var hashMegabytes = 400

    func run() async throws {
        var logger = Logger(label: "kiln-bench")
        logger.logLevel = .warning
        let url = try DatabaseURL(databaseURL)
        let home = URL(fileURLWithPath: home)
        // The CPU-bound buildpack: a git repository whose compile hashes zeros.
        let buildpack = home.appendingPathComponent("cpu-buildpack")
        try FileManager.default.createDirectory(at: buildpack.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try "#!/bin/sh\necho CPU\n".write(to: buildpack.appendingPathComponent("bin/detect"), atomically: true, encoding: .utf8)
        try "#!/bin/sh\nhead -c \(hashMegabytes)M /dev/zero | sha256sum\n".write(to: buildpack.appendingPathComponent("bin/compile"), atomically: true, encoding: .utf8)
        for script in ["detect", "compile"] { chmod(buildpack.appendingPathComponent("bin/\(script)").path, 0o755) }
        for arguments in [["init", "-q", "-b", "main"], ["add", "."], ["-c", "user.name=bench", "-c", "user.email=bench@kiln", "commit", "-q", "-m", "cpu"]] {
            _ = try await Command("git", ["-C", buildpack.path] + arguments).check()
        }
        // Workers run as root here: the build user must reach the buildpack's checkout.
        chmod(home.path, 0o755)

        try await Database.with(url: url, logger: logger) { database in
            _ = try await Migrations.apply(on: database)
            let bench = QueueBenchRun(database: database, kiln: kiln, home: home)
            let cpuSource = try bench.sourceBlob([".buildpacks": "file://\(buildpack.path)#main\n"])
            print("Kiln scale-out: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(builds) builds per run, workers with capacity 1")
            print("workers   empty builds/min  gain    cpu-bound builds/min  gain")
            var previous: (Double, Double)?
            for workers in [1, 2, 4, 8] {
                let empty = try await bench.endToEnd(builds: builds, workers: workers, prefix: "empty\(workers)", workerArguments: ["--poll-interval", "0.5"])
                let cpu = try await bench.endToEnd(builds: builds, workers: workers, prefix: "cpu\(workers)", source: cpuSource, workerArguments: ["--poll-interval", "0.5"])
                let rates = (empty.buildsPerSecond * 60, cpu.buildsPerSecond * 60)
                let gains = previous.map { (String(format: "x%.2f", rates.0 / $0.0), String(format: "x%.2f", rates.1 / $0.1)) } ?? ("-", "-")
                print(String(format: "%7d   %16.1f  %-6@  %20.1f  %@", workers, rates.0, gains.0, rates.1, gains.1))
                previous = rates
            }
        }
    }
}
