import Foundation

/// One of Kiln's built-in builders: a Heroku-API buildpack in `builders/`,
/// with a `builder.conf` that says what its `bin/detect` looks for (shown
/// when nothing matches) and which runtimes it builds with. What keys its
/// dependency cache is in `cache/`.
public struct BuiltInBuilder: Sendable, Equatable {
    public var name: String
    public var buildpack: Buildpack
    /// What makes `bin/detect` accept an app, e.g. "mix.exs".
    public var detects: String
    /// The runtimes it builds with, the first its main one (`runtimes = elixir, erlang`):
    /// the worker selects a version of each for the app (KilnRuntimes).
    public var runtimes: [String] = []

    /// Reads `directory/builder.conf`: `key = value` lines, `#` comments.
    public static func load(name: String, directory: URL) -> BuiltInBuilder {
        var settings: [String: String] = [:]
        let text = (try? String(contentsOf: directory.appendingPathComponent("builder.conf"), encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { settings[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return BuiltInBuilder(
            name: name, buildpack: Buildpack(reference: name, directory: directory),
            detects: settings["detects"] ?? "its bin/detect",
            runtimes: (settings["runtimes"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}
