import ArgumentParser
import Foundation

/// A duration on the command line: `900`, `90s`, `15m`, `2h`, `7d`.
struct TimeSpan: ExpressibleByArgument, Sendable {
    var seconds: Int

    /// How `--help` shows a default: `900s`.
    var defaultValueDescription: String { "\(seconds)s" }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let last = text.last, let scale = units[last] {
            guard let value = Int(text.dropLast()), value > 0 else { return nil }
            seconds = value * scale
        } else {
            guard let value = Int(text), value > 0 else { return nil }
            seconds = value
        }
    }
}
