import ArgumentParser
import Foundation
import Logging

/// One JSON object per line on standard error, for log collectors:
/// `{"time":…,"level":…,"label":…,"message":…}` and the line's metadata
/// (a worker's lines about a build carry `build` and `app`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        object["time"] = Self.time(Date())
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = "\(event.message)"
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        try? FileHandle.standardError.write(contentsOf: line)
    }

    static func time(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }
}

/// How the parts that run for long (`up`, `server`, `worker`) write their logs.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Log lines as text or as JSON objects (default: KILN_LOG_FORMAT, else text).")
    var logFormat: Format = ProcessInfo.processInfo.environment["KILN_LOG_FORMAT"].flatMap(Format.init(rawValue:)) ?? .text
}
