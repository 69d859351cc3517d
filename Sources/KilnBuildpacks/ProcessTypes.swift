import Foundation

/// Process types (`web: bin/server`), as a Procfile or `bin/release` declares them.
public struct ProcessTypes: Sendable, Equatable, Codable {
    public var commands: [String: String]

    public init(_ commands: [String: String] = [:]) { self.commands = commands }

    /// Parses a Procfile: `name: command` per line; blank lines and `#` comments ignored.
    /// The error names the line that is not of that form.
    public static func parseProcfile(_ text: String) throws -> ProcessTypes {
        var commands: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw BuildpackError("Procfile line \(index + 1): '\(line)' is not of the form `name: command`")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let command = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !command.isEmpty else {
                throw BuildpackError("Procfile line \(index + 1): '\(line)' needs a name of letters, digits, - or _ and a command")
            }
            commands[name] = command
        }
        return ProcessTypes(commands)
    }

    /// These types, overridden by `other` where both name one (a Procfile wins over `bin/release`).
    public func merging(_ other: ProcessTypes) -> ProcessTypes {
        ProcessTypes(commands.merging(other.commands) { _, new in new })
    }
}
