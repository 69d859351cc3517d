import Foundation

/// What a buildpack's `bin/release` declares: default process types, the
/// add-ons the app needs and default config vars. The process types go into
/// the slug; add-ons and config vars are recorded in its manifest for the
/// release service, which decides what to do with them (Heroku provisions
/// the add-ons and sets config vars that are not yet set).
public struct ReleaseDeclaration: Sendable, Equatable {
    public var processTypes = ProcessTypes()
    public var addons: [String] = []
    public var configVars: [String: String] = [:]

    public init(processTypes: ProcessTypes = ProcessTypes(), addons: [String] = [], configVars: [String: String] = [:]) {
        self.processTypes = processTypes
        self.addons = addons
        self.configVars = configVars
    }

    /// Parses the small, regular YAML buildpacks print: top-level keys,
    /// mappings as indented `key: value` lines or `{}`, lists as indented
    /// `- item` lines or `[a, b]`.
    public static func parse(_ yaml: String) -> ReleaseDeclaration {
        var declaration = ReleaseDeclaration(processTypes: ProcessTypes.parseRelease(yaml))
        var section = ""
        for raw in yaml.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") || trimmed == "---" { continue }
            if line.first != " " && line.first != "\t" && line.first != "-" {
                guard let colon = line.firstIndex(of: ":") else { continue }
                section = String(line[..<colon])
                let rest = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if section == "addons", rest.hasPrefix("["), rest.hasSuffix("]") {
                    declaration.addons += rest.dropFirst().dropLast().split(separator: ",").map { unquote($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
                }
                continue
            }
            switch section {
            case "addons" where trimmed.hasPrefix("- "):
                declaration.addons.append(unquote(String(trimmed.dropFirst(2)).trimmingCharacters(in: .whitespaces)))
            case "config_vars":
                guard let colon = trimmed.firstIndex(of: ":") else { continue }
                let name = String(trimmed[..<colon]).trimmingCharacters(in: .whitespaces)
                let value = unquote(trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                if !name.isEmpty { declaration.configVars[name] = value }
            default:
                continue
            }
        }
        return declaration
    }

    static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        return text
    }
}
