import ArgumentParser

/// `kiln-bench`: measurements that print figures, run by the scripts in
/// `bench/`. Not shipped with Kiln and never run by the tests.
@main
struct KilnBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln-bench",
        abstract: "Measure Kiln's parts and print the figures.",
        subcommands: [QueueBench.self, CacheBench.self, ScaleBench.self])
}
