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

    /// Reads `default_process_types` from the YAML that `bin/release` prints.
    ///
    /// Buildpacks print a small, regular subset of YAML: a top-level mapping
    /// whose `default_process_types` is either `{}` or an indented block of
    /// `name: command` lines, commands optionally quoted. That subset is
    /// what is parsed; anything else under other keys is ignored.
    public static func parseRelease(_ yaml: String) -> ProcessTypes {
        var commands: [String: String] = [:]
        var inside = false
        for raw in yaml.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("#") || line == "---" { continue }
            let indented = line.first == " " || line.first == "\t"
            if !indented {
                inside = line.hasPrefix("default_process_types:")
                continue
            }
            guard inside, let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            var command = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if command.count >= 2, let first = command.first, first == "\"" || first == "'", command.last == first {
                command = String(command.dropFirst().dropLast())
                if first == "\"" { command = command.replacingOccurrences(of: "\\\"", with: "\"") }
            }
            if !name.isEmpty, !command.isEmpty { commands[name] = command }
        }
        return ProcessTypes(commands)
    }

    /// These types, overridden by `other` where both name one (a Procfile wins over `bin/release`).
    public func merging(_ other: ProcessTypes) -> ProcessTypes {
        ProcessTypes(commands.merging(other.commands) { _, new in new })
    }
}
